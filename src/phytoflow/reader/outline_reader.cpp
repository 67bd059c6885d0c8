#include "phytoflow/reader/outline_reader.h"

namespace phytoflow {

std::optional<std::pair<int64_t, ChainCode>> ParseOutlineLine(std::string_view line,
                                                              std::string& problem) {
  std::vector<std::string_view> parts;
  SplitInto(Trim(line), ',', parts);
  if (parts.size() != 5) {
    problem =
        "expected 5 comma-separated values (id,n,x,y,chain), found " + std::to_string(parts.size());
    return std::nullopt;
  }
  const auto id = ParseInt(parts[0]);
  const auto length = ParseInt(parts[1]);
  const auto x = ParseInt(parts[2]);
  const auto y = ParseInt(parts[3]);
  if (!id || !length || !x || !y || *x < INT32_MIN || *x > INT32_MAX || *y < INT32_MIN ||
      *y > INT32_MAX) {
    problem = "expected integers for id, n, start_x and start_y";
    return std::nullopt;
  }
  const std::string_view chain = Trim(parts[4]);
  if (static_cast<int64_t>(chain.size()) != *length) {
    problem =
        "chain has " + std::to_string(chain.size()) + " digits, n says " + std::to_string(*length);
    return std::nullopt;
  }
  for (const char digit : chain) {
    if (digit < '1' || digit > '8') {
      problem = std::string("chain digit '") + digit + "' is not a Freeman direction 1..8";
      return std::nullopt;
    }
  }
  return std::make_pair(*id,
                        ChainCode{.start_x = static_cast<int>(*x),
                                  .start_y = static_cast<int>(*y),
                                  .directions = std::string(chain)});
}

std::vector<ChainCode> OutlineReader::Take(int64_t number, Diagnostics& diagnostics) {
  std::vector<ChainCode> outlines;
  std::string line;
  while (true) {
    if (!pending_) {
      if (done_ || !lines_.Next(line)) {
        done_ = true;
        return outlines;
      }
      if (Trim(line).empty()) {
        continue;
      }
      std::string problem;
      pending_ = ParseOutlineLine(line, problem);
      if (!pending_) {
        if (!reported_) {
          Warn(diagnostics,
               file_,
               lines_.LineNumber(),
               "",
               problem + "; malformed outlines are skipped");
          reported_ = true;
        }
        continue;
      }
    }
    if (pending_->first < number) {
      pending_.reset();  // a particle the list does not have (or out of order): skip
      continue;
    }
    if (pending_->first > number) {
      return outlines;  // belongs to a later particle
    }
    outlines.push_back(std::move(pending_->second));
    pending_.reset();
  }
}

}  // namespace phytoflow
