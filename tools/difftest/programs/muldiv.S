# MUL/IMUL (one, two and three operands) and DIV/IDIV at every width, with results that overflow into the high half.
.code64
.intel_syntax noprefix
    mov rax, -1
    mov rbx, -1
    mul rbx                     # rdx:rax = (2^64-1)^2
    mov rax, 0x100000000
    mul rax
    mov rax, -2
    mov rcx, 3
    imul rcx
    mov eax, 0x80000000
    mov ecx, 2
    imul ecx
    mov eax, 0x10000
    mul eax
    mov ax, 0x8000
    mov cx, 0xffff
    imul cx
    mov ax, 0x1234
    mul cx
    mov al, 0x80
    mov cl, 0xff
    imul cl
    mov al, 0x10
    mul cl
    mov al, 0x7f
    mov cl, 1
    imul cl                     # no overflow: CF=OF=0
    imul rdx, rbx, 0x7fffffff
    imul esi, edi, -1
    mov r9, 0x4000000000000000
    mov r8, 2
    imul r8, r9                 # 2^63: signed overflow
    mov r10w, 0x100
    imul r10w, r10w, 0x100
    mov rax, 123456789
    xor edx, edx
    mov rcx, 1000
    div rcx
    mov rdx, 1
    mov rax, 0
    mov rcx, 2
    div rcx                     # 128-bit dividend
    mov rax, -100
    cqo
    mov rcx, 7
    idiv rcx
    mov eax, -7
    cdq
    mov ecx, 2
    idiv ecx
    mov ax, 1000
    mov cl, 7
    div cl                      # AH = remainder
    mov ax, -500
    mov cl, 7
    idiv cl
    mov dx, 0
    mov ax, 0xffff
    mov cx, 0x10
    div cx
    mov rax, 0x8000000000000000
    cqo
    mov rcx, 1
    idiv rcx
    mov rdi, 0x20000
    mov rax, 3
    mul qword ptr [rdi]
    imul rbx, qword ptr [rdi+8], 5
    mov eax, 1000000
    xor edx, edx
    div dword ptr [rdi+16]
    hlt
