// The file offset of a symbol's code in an ELF64 shared object, for tests that patch a kernel's
// first instruction in a cached or built library.
#pragma once

#include <elf.h>

#include <cstring>
#include <string>

namespace evoc::test {

/// The file offset of the code of `symbol` in the ELF shared object `so` (its dynamic symbol
/// table, mapped to the file through the loadable segments); -1 if not found.
inline long symbol_file_offset(const std::string& so, const std::string& symbol) {
  if (so.size() < sizeof(Elf64_Ehdr)) return -1;
  Elf64_Ehdr eh;
  std::memcpy(&eh, so.data(), sizeof eh);
  auto section = [&](std::size_t i) {
    Elf64_Shdr sh;
    std::memcpy(&sh, so.data() + eh.e_shoff + i * sizeof sh, sizeof sh);
    return sh;
  };
  for (std::size_t i = 0; i < eh.e_shnum; ++i) {
    const Elf64_Shdr table = section(i);
    if (table.sh_type != SHT_DYNSYM) continue;
    const Elf64_Shdr names = section(table.sh_link);
    for (std::size_t k = 0; k < table.sh_size / sizeof(Elf64_Sym); ++k) {
      Elf64_Sym sym;
      std::memcpy(&sym, so.data() + table.sh_offset + k * sizeof sym, sizeof sym);
      if (symbol != so.data() + names.sh_offset + sym.st_name) continue;
      for (std::size_t p = 0; p < eh.e_phnum; ++p) {
        Elf64_Phdr ph;
        std::memcpy(&ph, so.data() + eh.e_phoff + p * sizeof ph, sizeof ph);
        if (ph.p_type == PT_LOAD && sym.st_value >= ph.p_vaddr && sym.st_value < ph.p_vaddr + ph.p_filesz)
          return static_cast<long>(sym.st_value - ph.p_vaddr + ph.p_offset);
      }
    }
  }
  return -1;
}

}  // namespace evoc::test
