#include "phytoflow/reader/classification_reader.h"

#include "phytoflow/core/error.h"
#include "phytoflow/reader/text.h"

#include <ostream>

namespace phytoflow {
namespace {

// Far above anything real (38 classes, 10k particles); stops a corrupt count from looping for
// minutes on a tiny file. Each count is also bounded by the lines that remain.
constexpr int64_t kMaxCount = 100'000'000;

class ClaParser {
 public:
  ClaParser(std::istream& input, const std::string& file) : lines_(input), file_(file) {}

  std::string Text(const char* what) {
    std::string line;
    if (!lines_.Next(line)) {
      Fail(lines_.LineNumber() + 1, std::string("file ends early: expected ") + what);
    }
    return line;
  }

  int64_t Count(const char* what) {
    const std::string line = Text(what);
    const auto value = ParseInt(line);
    if (!value || *value < 0 || *value > kMaxCount) {
      Fail(lines_.LineNumber(), std::string("expected ") + what + ", found '" + line + "'");
    }
    return *value;
  }

  [[noreturn]] void Fail(int64_t line, const std::string& message) {
    throw Error(ErrorCode::kInvalidInput, file_ + ":" + std::to_string(line) + ": " + message);
  }

  int64_t LineNumber() const { return lines_.LineNumber(); }

 private:
  LineReader lines_;
  const std::string& file_;
};

}  // namespace

std::vector<Classification> ReadClassifications(std::istream& input, const std::string& file) {
  ClaParser parser(input, file);
  const std::string version(Trim(parser.Text("the format version \"v3\"")));
  if (version != "v3") {
    parser.Fail(1, "expected the format version \"v3\", found '" + version + "'");
  }
  std::vector<Classification> classifications;
  const int64_t classification_count = parser.Count("the number of classifications");
  for (int64_t c = 0; c < classification_count; ++c) {
    Classification classification;
    classification.name = std::string(Trim(parser.Text("a classification name")));
    const int64_t class_count = parser.Count("the number of classes");
    for (int64_t k = 0; k < class_count; ++k) {
      ClassMembers members;
      members.name = std::string(Trim(parser.Text("a class name")));
      parser.Text("the filter operator (\"OR\")");
      const int64_t filter_count = parser.Count("the number of filter files");
      for (int64_t f = 0; f < filter_count; ++f) {
        members.filters.push_back(parser.Text("a filter file path"));
      }
      const int64_t member_count = parser.Count("the number of particles in the class");
      for (int64_t m = 0; m < member_count; ++m) {
        members.particle_numbers.push_back(parser.Count("a particle id"));
      }
      classification.classes.push_back(std::move(members));
    }
    classifications.push_back(std::move(classification));
  }
  return classifications;
}

void WriteClassifications(std::ostream& output,
                          const std::vector<Classification>& classifications) {
  output << "v3\n" << classifications.size() << "\n";
  for (const Classification& classification : classifications) {
    output << classification.name << "\n" << classification.classes.size() << "\n";
    for (const ClassMembers& members : classification.classes) {
      output << members.name << "\nOR\n" << members.filters.size() << "\n";
      for (const std::string& filter : members.filters) {
        output << filter << "\n";
      }
      output << members.particle_numbers.size() << "\n";
      for (const int64_t number : members.particle_numbers) {
        output << number << "\n";
      }
    }
  }
}

}  // namespace phytoflow
