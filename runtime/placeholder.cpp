// Placeholder translation unit until the runtime lands.
namespace evoc::runtime {}
