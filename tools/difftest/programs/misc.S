# Extensions, exchanges, bit tests and scans, SETcc/CMOVcc (including the 32-bit CMOV that clears the upper half
# when not taken), sign-extension helpers, LAHF/SAHF, 32-bit addressing, and CPUID (compared after a resync).
.code64
.intel_syntax noprefix
    mov rdi, 0x20000
    movzx eax, byte ptr [rdi+0x80]
    movsx rbx, byte ptr [rdi+0x80]
    movsx ecx, word ptr [rdi+0xfe]
    movsxd rdx, dword ptr [rdi+0xfc]
    movzx r8, word ptr [rdi+0x90]
    xchg rax, rbx
    xchg [rdi], rcx
    mov rax, [rdi]
    mov rcx, 5
    lock cmpxchg [rdi], rcx     # equal: stores
    cmpxchg [rdi], rcx          # now unequal: loads
    cmpxchg ebx, ecx
    mov rdx, 9
    xadd [rdi+8], rdx
    mov rax, 0x0102030405060708
    bswap eax
    mov rbx, 0x0102030405060708
    bswap rbx
    bt rax, 63
    bts rbx, 5
    btr rcx, 2
    mov rdx, 100
    btc qword ptr [rdi], rdx    # register bit offset reaches past the qword
    bt qword ptr [rdi], 70
    bsf rax, rbx
    bsr rcx, rdx
    mov r9, 0x1234
    xor r10d, r10d
    bsf r9, r10                 # zero source: ZF=1, destination kept
    mov eax, 5
    cmp eax, 7
    seta al
    setl bl
    setnp cl
    setbe dl
    mov rax, -1
    mov rbx, 0x0123456789abcdef
    cmp eax, eax
    cmovne eax, ebx             # not taken, yet the upper half of rax is cleared
    cmove rcx, rbx
    cmovg r11, rbx
    mov al, 0x80
    cbw
    cwde
    cdqe
    cwd
    cdq
    cqo
    mov ah, 0xd5
    sahf
    lahf
    cmc
    clc
    stc
    mov sil, 0x80
    mov dil, sil
    mov ebx, 0xfffffff0
    mov ecx, 8
    lea eax, [ebx+ecx*4+8]      # 32-bit address size wraps
    lea r8, [rbx+rcx*8-0x10]
    mov r14, 0x20000
    mov r15, [r14+rcx*8]
    xor eax, eax
    cpuid                       # differs by design: registers copied from QEMU
    mov rbx, [rdi]
    mov rcx, [rdi+8]
    hlt
