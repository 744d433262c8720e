# ADD/ADC/SUB/SBB/CMP/INC/DEC/NEG and logic ops with edge operands at 8, 16, 32 and 64 bits.
.code64
.intel_syntax noprefix
    mov al, 0x7f
    add al, 1                   # 8-bit signed overflow
    mov al, 0xff
    add al, 1                   # carry out, zero
    mov al, 0x80
    sub al, 1                   # signed overflow on subtract
    mov al, 0
    sub al, 1                   # borrow
    mov bl, 0x80
    neg bl                      # neg of the minimum: OF
    mov bl, 0
    neg bl                      # neg 0: CF clear
    mov cl, 0x7f
    inc cl                      # OF, CF preserved
    stc
    mov cl, 0x80
    dec cl                      # OF, CF stays set
    mov ah, 0x0f
    add ah, 1                   # AF from a high-byte register
    stc
    mov dl, 0xff
    adc dl, 0                   # carry-in makes the carry
    stc
    mov dl, 0x7f
    adc dl, 0x7f
    stc
    mov dl, 0
    sbb dl, 0                   # borrow-in makes the borrow
    stc
    mov dl, 0x80
    sbb dl, 0x7f
    mov sil, 0x80               # REX byte registers
    add sil, sil
    mov ax, 0x7fff
    add ax, 1
    mov ax, 0x8000
    sub ax, 1
    mov ax, 0xffff
    inc ax
    stc
    mov si, 0xffff
    adc si, 0xffff
    mov rax, -1
    mov eax, 0x7fffffff
    add eax, 1                  # 32-bit result zero-extends
    mov rbx, -1
    sub ebx, ebx
    mov ecx, 0x80000000
    neg ecx
    stc
    mov edx, 0xffffffff
    adc edx, 0
    stc
    mov edx, 0
    sbb edx, 0xffffffff
    mov rax, 0x7fffffffffffffff
    add rax, 1
    mov rax, 0x8000000000000000
    sub rax, 1
    mov rax, -1
    add rax, 1
    mov rbx, 0x8000000000000000
    neg rbx
    stc
    mov rcx, -1
    adc rcx, 0
    stc
    mov rcx, 0
    sbb rcx, -1
    mov r8, 0x8000000000000000
    cmp r8, 1
    mov r9, 1
    cmp r9, r8
    cmp r8, r8
    mov rax, 0xf0f0f0f0f0f0f0f0
    and rax, 0x0f0f
    or rax, -1
    xor eax, eax
    mov r10, 0x8000000000000001
    test r10, r10
    mov r11b, 0x81
    test r11b, 0x80
    xor r12d, 0x80000000
    not r12
    mov rdi, 0x20000
    add qword ptr [rdi], 0x7fffffff
    add byte ptr [rdi+1], 0x80
    sub dword ptr [rdi+8], eax
    inc word ptr [rdi+16]
    dec qword ptr [rdi+24]
    neg dword ptr [rdi+32]
    adc qword ptr [rdi+40], r8
    mov rax, [rdi]
    mov rbx, [rdi+8]
    mov rcx, [rdi+16]
    mov rdx, [rdi+24]
    mov rsi, [rdi+32]
    mov rbp, [rdi+40]
    pushfq
    pop r13
    lahf
    hlt
