#pragma once

// Readers of the small text files of a run: the .ctx settings (INI), the two run summaries and
// the operator's notes. All accept CRLF and LF.

#include "phytoflow/core/diagnostic.h"
#include "phytoflow/core/sample.h"

#include <istream>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace phytoflow {

// Key/value lines grouped by section, in file order. Lookups ignore case, because key spelling
// changes between VisualSpreadsheet versions (DSPFirmwareVersion / DspFirmwareVersion).
class KeyValueFile {
 public:
  KeyValueFile() = default;
  explicit KeyValueFile(std::vector<ContextEntry> entries) : entries_(std::move(entries)) {}

  // The trimmed value of the first matching entry; nullopt if absent or blank.
  std::optional<std::string> Find(std::string_view section, std::string_view key) const;
  // The value as a number (a trailing unit such as " ml" or "%" is ignored).
  std::optional<double> FindNumber(std::string_view section, std::string_view key) const;

  const std::vector<ContextEntry>& Entries() const { return entries_; }
  bool Empty() const { return entries_.empty(); }

 private:
  std::vector<ContextEntry> entries_;
};

// Reads a .ctx: "[Section]" headers and "Key=Value" lines. Lines that are neither are reported
// as warnings in `diagnostics` and skipped.
KeyValueFile ReadContext(std::istream& input, const std::string& file, Diagnostics& diagnostics);

// Reads "_run_summary.txt": block titles ("Run:") followed by tab-indented "Label: value"
// lines. Section = block title without the colon.
KeyValueFile ReadRunSummary(std::istream& input, const std::string& file, Diagnostics& diagnostics);

// Reads VS 4.x "_summary.csv": "Key,value" lines (section ""), the statistics table (section
// "Summary Stats", value = the rest of the row) and the settings lines (section "Settings").
KeyValueFile ReadSummaryCsv(std::istream& input, const std::string& file, Diagnostics& diagnostics);

}  // namespace phytoflow
