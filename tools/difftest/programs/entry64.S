# 64-bit entry at 0x8080: flat data segments, a stack, clean registers and flags, then the test body at 0x10000.
.code64
.intel_syntax noprefix
    mov eax, 0x10
    mov ds, ax
    mov es, ax
    mov ss, ax
    xor eax, eax
    mov fs, ax
    mov gs, ax
    mov esp, 0x80000
    xor ecx, ecx
    xor edx, edx
    push 2
    popfq
    mov eax, 0x10000
    jmp rax
