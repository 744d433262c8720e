# SSE/SSE2 integer and double-precision basics (the kernel and busybox's glibc string functions use these):
# moves, logic, packed adds and compares, PMOVMSKB, conversions, scalar double arithmetic, UCOMISD flags.
.code64
.intel_syntax noprefix
    mov rdi, 0x20000
    movdqu xmm0, [rdi]
    movdqu xmm1, [rdi+16]
    movdqa xmm2, xmm0
    pxor xmm2, xmm1
    por xmm2, xmm0
    pand xmm2, xmm1
    paddb xmm0, xmm1
    paddd xmm1, xmm0
    psubq xmm1, xmm2
    pcmpeqb xmm3, xmm3
    pcmpeqb xmm0, xmm2
    pmovmskb eax, xmm0
    pmovmskb ebx, xmm3
    movq xmm4, rax
    movd xmm5, ebx
    punpcklbw xmm4, xmm5
    pshufd xmm6, xmm1, 0x1b
    psrldq xmm6, 3
    pslldq xmm1, 5
    movq rcx, xmm6
    mov eax, 7
    cvtsi2sd xmm7, eax
    mov rax, -3
    cvtsi2sd xmm8, rax
    addsd xmm7, xmm8
    mulsd xmm7, xmm7
    divsd xmm7, xmm8
    sqrtsd xmm9, xmm7
    cvttsd2si rdx, xmm7
    ucomisd xmm7, xmm8
    seta r8b
    comisd xmm8, xmm8
    setz r9b
    movdqu [rdi+0x100], xmm1
    movups [rdi+0x110], xmm6
    xorps xmm10, xmm10
    hlt
