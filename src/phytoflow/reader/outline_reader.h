#pragma once

// Streaming reader of .edg outline files: "particle_id,n,start_x,start_y,<n Freeman digits>",
// one line per blob, grouped by particle id in list order.

#include "phytoflow/core/diagnostic.h"
#include "phytoflow/core/particle.h"
#include "phytoflow/reader/text.h"

#include <cstdint>
#include <istream>
#include <optional>
#include <string>
#include <vector>

namespace phytoflow {

// Parses one .edg line. nullopt (with the reason in `problem`) when it is malformed: wrong field
// count, a number that does not parse, or a chain whose length or digits disagree with n.
std::optional<std::pair<int64_t, ChainCode>> ParseOutlineLine(std::string_view line,
                                                              std::string& problem);

class OutlineReader {
 public:
  OutlineReader(std::istream& input, std::string file) : lines_(input), file_(std::move(file)) {}

  // The outlines of particle `number`. Particles must be asked for in increasing order, as the
  // list gives them; lines for particles never asked for are skipped. Malformed lines are
  // reported once per file in `diagnostics` and skipped.
  std::vector<ChainCode> Take(int64_t number, Diagnostics& diagnostics);

 private:
  LineReader lines_;
  std::string file_;
  std::optional<std::pair<int64_t, ChainCode>> pending_;
  bool reported_ = false;
  bool done_ = false;
};

}  // namespace phytoflow
