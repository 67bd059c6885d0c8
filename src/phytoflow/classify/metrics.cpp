#include "phytoflow/classify/metrics.h"

#include "phytoflow/core/error.h"
#include "phytoflow/core/xml.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace phytoflow {
namespace {

constexpr size_t kTopK = 5;
constexpr int kCalibrationBins = 15;

// Classes ranked before `target`: higher probability, or equal and a lower index (the same
// tie rule as ArgMax, so rank 0 is the top-1 prediction).
size_t RankOf(std::span<const float> row, size_t target) {
  size_t rank = 0;
  for (size_t class_idx = 0; class_idx < row.size(); ++class_idx) {
    if (row[class_idx] > row[target] || (row[class_idx] == row[target] && class_idx < target)) {
      ++rank;
    }
  }
  return rank;
}

double Ratio(int64_t numerator, int64_t denominator) {
  return denominator == 0 ? 0.0 : static_cast<double>(numerator) / static_cast<double>(denominator);
}

std::string CsvField(const std::string& text) {
  if (text.find_first_of(",\"\r\n") == std::string::npos) {
    return text;
  }
  std::string quoted = "\"";
  for (char c : text) {
    quoted += c;
    if (c == '"') {
      quoted += '"';
    }
  }
  return quoted + "\"";
}

std::string Number(double value) {
  char text[32];
  std::snprintf(text, sizeof text, "%.4g", value);
  return text;
}

}  // namespace

EvaluationReport Evaluate(std::span<const int> targets,
                          std::span<const float> probabilities,
                          const std::vector<std::string>& classes) {
  const size_t class_count = classes.size();
  if (class_count == 0) {
    throw Error(ErrorCode::kInvalidInput, "cannot evaluate without classes");
  }
  if (probabilities.size() != targets.size() * class_count) {
    throw Error(ErrorCode::kInvalidInput,
                "expected " + std::to_string(targets.size()) + " × " + std::to_string(class_count) +
                    " probabilities, found " + std::to_string(probabilities.size()));
  }
  EvaluationReport report;
  report.items = static_cast<int64_t>(targets.size());
  report.confusion.assign(class_count, std::vector<int64_t>(class_count, 0));

  int64_t top1_hits = 0;
  int64_t top5_hits = 0;
  std::vector<int64_t> bin_count(kCalibrationBins, 0);
  std::vector<double> bin_confidence(kCalibrationBins, 0.0);
  std::vector<int64_t> bin_correct(kCalibrationBins, 0);
  for (size_t item_idx = 0; item_idx < targets.size(); ++item_idx) {
    const int target = targets[item_idx];
    if (target < 0 || static_cast<size_t>(target) >= class_count) {
      throw Error(ErrorCode::kInvalidInput,
                  "item " + std::to_string(item_idx) + " has target " + std::to_string(target) +
                      " outside the " + std::to_string(class_count) + " classes");
    }
    const auto truth = static_cast<size_t>(target);
    const std::span<const float> row = probabilities.subspan(item_idx * class_count, class_count);
    const size_t predicted = ArgMax(row);
    ++report.confusion[truth][predicted];
    const bool correct = predicted == truth;
    top1_hits += correct ? 1 : 0;
    top5_hits += RankOf(row, truth) < kTopK ? 1 : 0;

    const double confidence = std::clamp(static_cast<double>(row[predicted]), 0.0, 1.0);
    const int bin = std::min(static_cast<int>(confidence * kCalibrationBins), kCalibrationBins - 1);
    ++bin_count[static_cast<size_t>(bin)];
    bin_confidence[static_cast<size_t>(bin)] += confidence;
    bin_correct[static_cast<size_t>(bin)] += correct ? 1 : 0;
  }
  report.top1 = Ratio(top1_hits, report.items);
  report.top5 = Ratio(top5_hits, report.items);
  for (size_t bin = 0; bin < bin_count.size(); ++bin) {
    if (bin_count[bin] > 0) {
      const double count = static_cast<double>(bin_count[bin]);
      const double gap =
          std::abs(static_cast<double>(bin_correct[bin]) / count - bin_confidence[bin] / count);
      report.ece += count / static_cast<double>(report.items) * gap;
    }
  }

  double f1_sum = 0.0;
  double recall_sum = 0.0;
  int with_support = 0;
  for (size_t class_idx = 0; class_idx < class_count; ++class_idx) {
    int64_t predicted_as = 0;
    int64_t support = 0;
    for (size_t other = 0; other < class_count; ++other) {
      predicted_as += report.confusion[other][class_idx];
      support += report.confusion[class_idx][other];
    }
    const int64_t hits = report.confusion[class_idx][class_idx];
    ClassMetrics metrics{.name = classes[class_idx],
                         .precision = Ratio(hits, predicted_as),
                         .recall = Ratio(hits, support),
                         .f1 = 0.0,
                         .support = support};
    if (metrics.precision + metrics.recall > 0.0) {
      metrics.f1 = 2.0 * metrics.precision * metrics.recall / (metrics.precision + metrics.recall);
    }
    if (support > 0) {
      f1_sum += metrics.f1;
      recall_sum += metrics.recall;
      ++with_support;
    }
    report.per_class.push_back(metrics);
  }
  if (with_support > 0) {
    report.macro_f1 = f1_sum / with_support;
    report.balanced_accuracy = recall_sum / with_support;
  }
  return report;
}

std::string ConfusionCsv(const EvaluationReport& report) {
  std::string csv = "true\\predicted";
  for (const ClassMetrics& metrics : report.per_class) {
    csv += "," + CsvField(metrics.name);
  }
  csv += "\n";
  for (size_t row = 0; row < report.confusion.size(); ++row) {
    csv += CsvField(row < report.per_class.size() ? report.per_class[row].name : "");
    for (int64_t count : report.confusion[row]) {
      csv += "," + std::to_string(count);
    }
    csv += "\n";
  }
  return csv;
}

std::string ConfusionSvg(const EvaluationReport& report) {
  // Layout in pixels: names left of the rows and rotated above the columns.
  constexpr int kCell = 40;
  constexpr int kCharWidth = 7;
  constexpr int kPad = 10;
  const size_t classes = report.confusion.size();
  size_t longest = 4;
  for (const ClassMetrics& metrics : report.per_class) {
    longest = std::max(longest, metrics.name.size());
  }
  const int label_space = static_cast<int>(longest) * kCharWidth + kPad + 20;
  const int grid = static_cast<int>(classes) * kCell;
  const int width = label_space + grid + kPad;
  const int height = label_space + grid + kPad;
  const auto name_of = [&](size_t index) {
    return XmlEscape(index < report.per_class.size() ? report.per_class[index].name : "");
  };

  std::string svg = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" + std::to_string(width) +
                    "\" height=\"" + std::to_string(height) + "\" viewBox=\"0 0 " +
                    std::to_string(width) + " " + std::to_string(height) +
                    "\" font-family=\"sans-serif\" font-size=\"12\">\n";
  svg += "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n";
  svg += "<text x=\"" + std::to_string(kPad) + "\" y=\"" + std::to_string(kPad + 12) +
         "\" font-size=\"11\">rows: true, columns: predicted</text>\n";
  for (size_t col = 0; col < classes; ++col) {
    const int x = label_space + static_cast<int>(col) * kCell + kCell / 2;
    svg += "<text transform=\"translate(" + std::to_string(x) + "," +
           std::to_string(label_space - 6) + ") rotate(-90)\">" + name_of(col) + "</text>\n";
  }
  for (size_t row = 0; row < classes; ++row) {
    const int y = label_space + static_cast<int>(row) * kCell;
    svg += "<text x=\"" + std::to_string(label_space - 6) + "\" y=\"" +
           std::to_string(y + kCell / 2 + 4) + "\" text-anchor=\"end\">" + name_of(row) +
           "</text>\n";
    int64_t row_total = 0;
    for (int64_t count : report.confusion[row]) {
      row_total += count;
    }
    for (size_t col = 0; col < report.confusion[row].size(); ++col) {
      const int64_t count = report.confusion[row][col];
      const double fraction = Ratio(count, row_total);
      // White to dark blue; text turns white on the darker half.
      const auto shade = [&](int full, int empty) {
        return std::to_string(static_cast<int>(std::lround(empty + (full - empty) * fraction)));
      };
      const int x = label_space + static_cast<int>(col) * kCell;
      svg += "<rect x=\"" + std::to_string(x) + "\" y=\"" + std::to_string(y) + "\" width=\"" +
             std::to_string(kCell) + "\" height=\"" + std::to_string(kCell) + "\" fill=\"rgb(" +
             shade(8, 255) + "," + shade(48, 255) + "," + shade(107, 255) +
             ")\" stroke=\"#ccc\"><title>" + name_of(row) + " → " + name_of(col) + ": " +
             std::to_string(count) + " (" + Number(100.0 * fraction) + " %)</title></rect>\n";
      svg += "<text x=\"" + std::to_string(x + kCell / 2) + "\" y=\"" +
             std::to_string(y + kCell / 2 + 4) + "\" text-anchor=\"middle\" fill=\"" +
             (fraction > 0.5 ? "white" : "black") + "\">" + std::to_string(count) + "</text>\n";
    }
  }
  svg += "</svg>\n";
  return svg;
}

size_t ArgMax(std::span<const float> row) {
  size_t best = 0;
  for (size_t class_idx = 1; class_idx < row.size(); ++class_idx) {
    if (row[class_idx] > row[best]) {
      best = class_idx;
    }
  }
  return best;
}

}  // namespace phytoflow
