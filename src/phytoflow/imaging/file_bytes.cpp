#include "phytoflow/imaging/file_bytes.h"

#include "phytoflow/core/error.h"

#include <fstream>
#include <string>

namespace phytoflow {

std::vector<uint8_t> ReadFileBytes(const std::filesystem::path& path, std::string_view what) {
  std::error_code status_error;
  // A directory opens fine as an ifstream on Linux; refuse it here with a clear message.
  if (!std::filesystem::is_regular_file(path, status_error)) {
    throw Error(ErrorCode::kNotFound, path.string() + ": no such " + std::string(what));
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    throw Error(ErrorCode::kNotFound, path.string() + ": cannot open " + std::string(what));
  }
  in.seekg(0, std::ios::end);
  const std::streamoff size = in.tellg();
  in.seekg(0, std::ios::beg);
  if (size < 0) {
    throw Error(ErrorCode::kUnavailable, path.string() + ": cannot get the file size");
  }
  std::vector<uint8_t> bytes(static_cast<size_t>(size));
  in.read(reinterpret_cast<char*>(bytes.data()), size);
  if (in.gcount() != size) {
    throw Error(ErrorCode::kUnavailable, path.string() + ": read error");
  }
  return bytes;
}

}  // namespace phytoflow
