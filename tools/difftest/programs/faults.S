# Exceptions and interrupts through a 64-bit IDT built at 0x30000: #DE (div by 0, idiv overflow), #UD (ud2), #BP
# (int3), int 0x80, #PF (not-present page at 1 GiB: CR2 and error code) and #GP (non-canonical address). Handlers
# count in r15, keep error codes in r14 and skip the faulting instruction by r13 bytes.
.code64
.intel_syntax noprefix
    xor r15d, r15d
    lea rax, [rip+skip_handler]
    mov ecx, 0
    call set_gate
    lea rax, [rip+skip_handler]
    mov ecx, 6
    call set_gate
    lea rax, [rip+trap_handler]
    mov ecx, 3
    call set_gate
    lea rax, [rip+trap_handler]
    mov ecx, 0x80
    call set_gate
    lea rax, [rip+error_handler]
    mov ecx, 13
    call set_gate
    lea rax, [rip+error_handler]
    mov ecx, 14
    call set_gate
    lidt [rip+idtr]
    mov r13, 2
    xor edx, edx
    mov eax, 1
    xor ecx, ecx
    div ecx                     # #DE
    mov r13, 3
    mov rax, 0x8000000000000000
    cqo
    mov rcx, -1
    idiv rcx                    # #DE: quotient overflow
    mov r13, 2
    ud2                         # #UD
    int3                        # #BP, a trap: returns after it
    int 0x80
    mov r13, 8
    mov rax, [0x40000000]       # #PF: not present
    mov r13, 3
    mov rax, 0x8000000000000000
    mov rbx, [rax]              # #GP: non-canonical
    mov r13, 12
    mov qword ptr [0x40001000], 1   # #PF on a write
    mov rax, cr2
    hlt

set_gate:                       # rax = handler, ecx = vector
    mov rdx, rcx
    shl rdx, 4
    add rdx, 0x30000
    mov word ptr [rdx], ax
    mov word ptr [rdx+2], 0x08
    mov word ptr [rdx+4], 0x8e00
    shr rax, 16
    mov word ptr [rdx+6], ax
    shr rax, 16
    mov dword ptr [rdx+8], eax
    mov dword ptr [rdx+12], 0
    ret
skip_handler:
    inc r15
    add [rsp], r13
    iretq
trap_handler:
    inc r15
    iretq
error_handler:
    inc r15
    pop r14
    add [rsp], r13
    iretq
    .p2align 3
idtr:
    .word 0xfff
    .quad 0x30000
