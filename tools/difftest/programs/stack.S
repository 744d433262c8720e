# PUSH/POP of every operand kind, PUSHF/POPF, CALL/RET (relative, register, memory), RET imm16, ENTER/LEAVE.
.code64
.intel_syntax noprefix
    mov rbp, rsp
    mov rdi, 0x20000
    push 0x12345678             # imm32, sign-extended
    push -1                     # imm8
    mov rax, 0x1111111111111111
    push rax
    mov r15, 0x2222222222222222
    push r15
    pushw 0x1234                # 16-bit push
    pop cx                      # 16-bit pop
    pop rbx
    pop rdx
    pop rsi
    pop r8
    push qword ptr [rdi]
    pop qword ptr [rdi+8]
    mov rax, [rdi+8]
    push 0x8d5
    popfq
    pushfq
    pop r9
    push 2
    popfq
    xor eax, eax
    call func1
    lea rax, [rip+func2]
    call rax
    lea rax, [rip+func1]
    mov [rdi+0x100], rax
    call qword ptr [rdi+0x100]
    push 0x77
    call func3                  # returns with ret 8, dropping the push
    enter 0x20, 0
    mov qword ptr [rbp-8], 0x55
    leave
    enter 0x10, 1
    leave
    mov rsi, rsp
    sub rsp, 8
    mov [rsp], rsp
    pop r10
    mov r11, rsp
    push rsp                    # pushes the old value
    pop r12
    xchg rax, [rdi+0x100]
    mov rax, [rsp-8]
    mov rbx, [rsp-16]
    hlt
func1:
    inc rax
    ret
func2:
    add rax, 2
    ret
func3:
    mov rcx, [rsp+8]
    ret 8
