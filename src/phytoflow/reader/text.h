#pragma once

// Small text helpers shared by the FlowCam file readers: line splitting that accepts CRLF and
// LF, locale-independent number parsing, trimming and case-insensitive comparison.

#include <cstdint>
#include <istream>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace phytoflow {

// Reads lines from a stream, dropping trailing '\r's, and counts them (1-based). Lines are
// returned as valid UTF-8: VisualSpreadsheet runs on Windows and may write Windows-1252 text
// ("µm", accents in operator notes), whose bytes are converted as Windows-1252.
class LineReader {
 public:
  explicit LineReader(std::istream& input) : input_(input) {}

  // Reads the next line into `line`; false at end of input.
  bool Next(std::string& line);
  // Number of the line last returned.
  int64_t LineNumber() const { return line_number_; }

 private:
  std::istream& input_;
  int64_t line_number_ = 0;
};

// `text` if it is valid UTF-8; otherwise each byte of an invalid sequence is read as
// Windows-1252 (Latin-1 plus € and typographic quotes at 0x80..0x9F).
std::string ToValidUtf8(std::string_view text);

std::string_view Trim(std::string_view text);
std::string ToLower(std::string_view text);
bool EqualsIgnoreCase(std::string_view a, std::string_view b);

// Splits on `separator` without quoting rules (FlowCam lists never quote).
void SplitInto(std::string_view text, char separator, std::vector<std::string_view>& parts);

// Splits one CSV line on `separator`, honouring double quotes ("a,b" and "" escapes).
std::vector<std::string> SplitCsvLine(std::string_view line, char separator = ',');

// Parses the whole of `text` (after trimming blanks) as a number; nullopt otherwise.
std::optional<double> ParseDouble(std::string_view text);
std::optional<int64_t> ParseInt(std::string_view text);

// Parses the number at the start of `text`, ignoring a trailing unit: "0.150 ml/min" → 0.15,
// "22.2%" → 22.2.
std::optional<double> ParseLeadingNumber(std::string_view text);

}  // namespace phytoflow
