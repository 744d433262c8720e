# Real mode -> long mode in one step (PE and PG set together), run by both CPUs from CS:IP = 0000:8000.
# Expects: GDT pseudo-descriptor at 0x9040, page tables at 0x1000 (PML4) identity-mapping the first GiB.
.code16
.intel_syntax noprefix
    cli
    xor ax, ax
    mov ds, ax
    lgdt [0x9040]
    mov eax, 0x6a0              # CR4 = PAE | PGE | OSFXSR | OSXMMEXCPT
    mov cr4, eax
    mov eax, 0x1000             # CR3 = PML4
    mov cr3, eax
    mov ecx, 0xc0000080         # EFER
    rdmsr
    or eax, 0x901               # SCE | LME | NXE
    wrmsr
    mov eax, cr0
    and eax, 0x9fffffff         # caches on (clear CD, NW)
    or eax, 0x80010023          # PG | WP | NE | MP | PE
    mov cr0, eax
    .byte 0x66, 0xea            # jmp far 0x08:0x8080 (32-bit offset)
    .long 0x8080
    .word 0x08
