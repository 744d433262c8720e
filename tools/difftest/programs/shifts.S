# SHL/SHR/SAR/ROL/ROR/RCL/RCR at 8/16/32/64 bits by CL and by immediate, counts 0, 1, 7, 8, 16, 31, 32, 63, 64, 65,
# with all arithmetic flags set (then clear) beforehand so count-0 "flags unchanged" is visible; then SHLD/SHRD.
.code64
.intel_syntax noprefix
.macro SHIFTS op, cnt
    push 0x8d5
    popfq
    mov rax, 0x8000000180008081
    mov cl, \cnt
    \op al, cl
    \op ax, cl
    \op eax, cl
    \op rax, cl
    push 0x2
    popfq
    mov rbx, 0x7fffffff7fff7f7e
    \op bl, \cnt
    \op bx, \cnt
    \op ebx, \cnt
    \op rbx, \cnt
.endm
.irp op, rol, ror, rcl, rcr, shl, shr, sar
.irp cnt, 0, 1, 7, 8, 16, 31, 32, 63, 64, 65
    SHIFTS \op, \cnt
.endr
.endr
.irp cnt, 0, 1, 15, 16, 31, 32, 63, 64
    push 0x8d5
    popfq
    mov rax, 0x8000000180008081
    mov rdx, 0x0123456789abcdef
    mov cl, \cnt
    shld rax, rdx, cl
    shrd rax, rdx, \cnt
    shld eax, edx, \cnt
    shrd eax, edx, cl
    shld ax, dx, cl
    shrd ax, dx, \cnt
.endr
    hlt
