# MOVS/STOS/LODS/CMPS/SCAS with and without REP/REPE/REPNE, both directions, count 0, all element sizes.
.code64
.intel_syntax noprefix
    cld
    mov rsi, 0x20000
    mov rdi, 0x21000
    mov rcx, 37
    rep movsb
    mov rcx, 5
    rep movsq
    mov al, 0x5a
    mov rcx, 17
    rep stosb
    mov eax, 0x11223344
    mov rcx, 3
    rep stosd
    mov ax, 0x7788
    mov ecx, 2
    rep stosw
    mov rsi, 0x20000
    lodsb
    lodsw
    lodsd
    lodsq
    mov rsi, 0x20000
    mov rdi, 0x21000
    mov rcx, 64
    repe cmpsb                  # stops after the 37 copied bytes
    mov rdi, 0x20000
    mov al, [rdi+20]
    mov rcx, 100
    repne scasb
    mov rdi, 0x20000
    mov rax, [rdi+16]
    mov rcx, 10
    repne scasq
    std
    mov rsi, 0x2003f
    mov rdi, 0x2203f
    mov rcx, 16
    rep movsb                   # backwards
    lodsq
    stosq
    cld
    xor ecx, ecx
    rep stosb                   # count 0: nothing happens
    repe cmpsb                  # count 0: flags unchanged
    movsb
    movsw
    movsd
    movsq
    cmpsq
    scasw
    mov rax, [0x21000]
    mov rbx, [0x21008]
    mov rcx, [0x21020]
    mov rdx, [0x21030]
    mov r8, [0x22030]
    mov r9, [0x22038]
    hlt
