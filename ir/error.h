// The error type every layer throws: a message that already names the place.
#pragma once

#include <stdexcept>
#include <string>

namespace evoc {

/// A user-facing error. `what()` is the full message, e.g.
/// "model.evir:3:7: error: unknown op 'mull'" followed by the source line and a caret.
class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& message) : std::runtime_error(message) {}
};

/// A located error in a text input (IR or CSV).
class ParseError : public Error {
 public:
  ParseError(std::string file, int line, int col, std::string message, std::string rendered)
      : Error(std::move(rendered)),
        file(std::move(file)),
        line(line),
        col(col),
        message(std::move(message)) {}
  std::string file;     ///< as given to the parser
  int line;             ///< 1-based
  int col;              ///< 1-based; 0 if the whole line is meant
  std::string message;  ///< the bare message, without location
};

}  // namespace evoc
