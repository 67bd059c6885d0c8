#include "phytoflow/classify/calibration.h"
#include "phytoflow/classify/classifier.h"
#include "phytoflow/classify/context.h"
#include "phytoflow/classify/dataset.h"
#include "phytoflow/classify/metrics.h"
#include "phytoflow/classify/model_info.h"
#include "phytoflow/classify/preprocess.h"
#include "phytoflow/core/error.h"
#include "phytoflow/imaging/image.h"
#include "phytoflow/imaging/png.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <numbers>
#include <random>
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace phytoflow {
namespace {

// Real labelled FlowCam vignettes; tests run from the repository root.
const std::filesystem::path kDemoSet = "../shared/data/labeled/flowcam_vliz_demo_6class";

// Expects `call` to throw Error with `code` and a message containing `text`.
template <typename Call>
void ExpectError(ErrorCode code, const std::string& text, Call call) {
  try {
    call();
    ADD_FAILURE() << "expected phytoflow::Error " << ErrorCodeName(code);
  } catch (const Error& error) {
    EXPECT_EQ(error.Code(), code) << error.what();
    EXPECT_NE(std::string(error.what()).find(text), std::string::npos)
        << "'" << text << "' not in: " << error.what();
  }
}

class TempDir {
 public:
  TempDir() {
    std::random_device random;
    path_ = std::filesystem::temp_directory_path() /
            ("phytoflow_classify_test_" + std::to_string(random()) + std::to_string(random()));
    std::filesystem::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& Path() const { return path_; }

 private:
  std::filesystem::path path_;
};

void WriteFile(const std::filesystem::path& path, const std::string& text) {
  std::filesystem::create_directories(path.parent_path());
  std::ofstream out(path, std::ios::binary);
  out << text;
}

void WritePng(const std::filesystem::path& path, int width, int height) {
  Image image{.width = width, .height = height, .channels = 1, .pixels = {}};
  image.pixels.assign(static_cast<size_t>(width * height), 128);
  const std::vector<uint8_t> png = EncodePng(image);
  WriteFile(path, std::string(png.begin(), png.end()));
}

Image MakeGray(int width, int height, std::vector<uint8_t> pixels) {
  return Image{.width = width, .height = height, .channels = 1, .pixels = std::move(pixels)};
}

// Value at (channel, row, col) of a CHW input of side `size`.
float At(const std::vector<float>& input, int size, int channel, int row, int col) {
  return input[static_cast<size_t>((channel * size + row) * size + col)];
}

// ---------------------------------------------------------------------------------------------
// Preprocessing

TEST(BorderColour, IsTheMedianOfTheOuterRing) {
  // The ring of a 3x3 is its 8 outer pixels; the centre (255) is ignored.
  // Sorted ring 10..80: median (40 + 50) / 2 = 45.
  EXPECT_EQ(BorderColour(MakeGray(3, 3, {10, 20, 30, 80, 255, 40, 70, 60, 50})),
            (std::vector<float>{45.0f}));
  // Odd count, per channel: a 1x3 RGB image is all ring.
  const Image rgb{
      .width = 3, .height = 1, .channels = 3, .pixels = {1, 100, 7, 2, 200, 9, 3, 150, 8}};
  EXPECT_EQ(BorderColour(rgb), (std::vector<float>{2.0f, 150.0f, 8.0f}));
  ExpectError(ErrorCode::kInvalidInput, "malformed", [] { BorderColour(Image{}); });
}

TEST(PreprocessImage, KeepsAspectCentresAndNormalisesToTheBackground) {
  // 4x2, background 100 (six of the eight ring pixels), a bright right column.
  const Image image = MakeGray(4, 2, {100, 100, 100, 228, 100, 100, 100, 228});
  const std::vector<float> input = PreprocessImage(image, {.image_size = 8, .channels = 1});
  ASSERT_EQ(input.size(), 64u);
  // Enlarged 2x to 8x4 (bilinear; source x of column c is (c + 0.5) / 2 − 0.5, clamped), so a
  // row reads 100 100 100 100 100 132 196 228; (value − 100) / 64 gives:
  const float expected[8] = {0, 0, 0, 0, 0, 0.5f, 1.5f, 2.0f};
  for (int row = 0; row < 8; ++row) {
    for (int col = 0; col < 8; ++col) {
      // Rows 0-1 and 6-7 are padding in the background colour, which normalises to 0.
      const float want = row >= 2 && row < 6 ? expected[col] : 0.0f;
      EXPECT_NEAR(At(input, 8, 0, row, col), want, 1.0f / 64 + 1e-6f) << row << "," << col;
    }
  }
}

TEST(PreprocessImage, CentresTallImagesHorizontally) {
  // 1x2 column, background = median(50, 114) = 82; enlarged to 2x4 and centred in 4x4.
  const Image image = MakeGray(1, 2, {50, 114});
  const std::vector<float> input = PreprocessImage(image, {.image_size = 4, .channels = 1});
  for (int row = 0; row < 4; ++row) {
    EXPECT_EQ(At(input, 4, 0, row, 0), 0.0f);
    EXPECT_EQ(At(input, 4, 0, row, 3), 0.0f);
    EXPECT_EQ(At(input, 4, 0, row, 1), At(input, 4, 0, row, 2));
  }
  EXPECT_FLOAT_EQ(At(input, 4, 0, 0, 1), (50.0f - 82.0f) / 64.0f);
  EXPECT_FLOAT_EQ(At(input, 4, 0, 3, 1), (114.0f - 82.0f) / 64.0f);
}

TEST(PreprocessImage, RepeatsGrayIntoThreeChannels) {
  const Image image = MakeGray(4, 2, {100, 100, 100, 228, 100, 100, 100, 228});
  const std::vector<float> gray = PreprocessImage(image, {.image_size = 8, .channels = 1});
  const std::vector<float> rgb = PreprocessImage(image, {.image_size = 8, .channels = 3});
  ASSERT_EQ(rgb.size(), 3 * gray.size());
  for (size_t channel = 0; channel < 3; ++channel) {
    EXPECT_TRUE(
        std::equal(gray.begin(), gray.end(), rgb.begin() + static_cast<long>(channel * 64)));
  }
}

TEST(PreprocessImage, KeepsRgbPlanesOrAveragesThem) {
  // 2x2 RGB, all ring: per-channel background medians (30, 60, 90), gray background 60.
  const Image image{.width = 2,
                    .height = 2,
                    .channels = 3,
                    .pixels = {30, 60, 90, 30, 60, 90, 30, 60, 90, 93, 120, 150}};
  const std::vector<float> rgb = PreprocessImage(image, {.image_size = 2, .channels = 3});
  ASSERT_EQ(rgb.size(), 12u);
  EXPECT_FLOAT_EQ(At(rgb, 2, 0, 1, 1), (93.0f - 30.0f) / 64.0f);
  EXPECT_FLOAT_EQ(At(rgb, 2, 1, 1, 1), (120.0f - 60.0f) / 64.0f);
  EXPECT_FLOAT_EQ(At(rgb, 2, 2, 1, 1), (150.0f - 90.0f) / 64.0f);
  EXPECT_FLOAT_EQ(At(rgb, 2, 0, 0, 0), 0.0f);
  const std::vector<float> gray = PreprocessImage(image, {.image_size = 2, .channels = 1});
  ASSERT_EQ(gray.size(), 4u);
  // (93 + 120 + 150) / 3 = 121.
  EXPECT_FLOAT_EQ(At(gray, 2, 0, 1, 1), (121.0f - 60.0f) / 64.0f);
  EXPECT_FLOAT_EQ(At(gray, 2, 0, 0, 1), 0.0f);
}

TEST(PreprocessImage, RefusesBadOptions) {
  const Image image = MakeGray(1, 1, {0});
  ExpectError(ErrorCode::kInvalidInput, "image_size", [&] {
    PreprocessImage(image, {.image_size = 0, .channels = 3});
  });
  ExpectError(ErrorCode::kInvalidInput, "channels", [&] {
    PreprocessImage(image, {.image_size = 8, .channels = 2});
  });
  ExpectError(ErrorCode::kInvalidInput, "malformed", [] { PreprocessImage(Image{}, {}); });
}

// ---------------------------------------------------------------------------------------------
// Context

TEST(Context, ModesNameTheirFeatures) {
  EXPECT_TRUE(ContextFeatures(ContextMode::kNone).empty());
  EXPECT_EQ(ContextFeatures(ContextMode::kSize),
            (std::vector<std::string>{"vignette_width",
                                      "vignette_height",
                                      "esd_um",
                                      "abd_um",
                                      "area_abd_um2",
                                      "length_um",
                                      "width_um"}));
  const std::vector<std::string> all = ContextFeatures(ContextMode::kAll);
  ASSERT_EQ(all.size(), 19u);
  EXPECT_EQ(all[7], "aspect_ratio");
  EXPECT_EQ(all[12], "day_of_year_sin");
  EXPECT_EQ(all[13], "day_of_year_cos");
  EXPECT_EQ(all[18], "salinity");
  for (ContextMode mode : {ContextMode::kNone, ContextMode::kSize, ContextMode::kAll}) {
    EXPECT_EQ(ParseContextMode(ContextModeName(mode)), mode);
  }
  ExpectError(ErrorCode::kInvalidInput, "'everything'", [] { ParseContextMode("everything"); });
}

TEST(Context, FitsLogSizesAndStandardises) {
  // log1p(esd): 1 and 3 → mean 2, standard deviation 1. Vignette width: log1p(0) twice → a
  // constant, whose scale is raised to the 1e-3 floor. ABD is never present: mean 0, scale 1.
  std::vector<ParticleContext> training(2);
  training[0].esd_um = std::expm1(1.0);
  training[1].esd_um = std::expm1(3.0);
  training[0].vignette_width = 0.0;
  training[1].vignette_width = 0.0;
  const ContextSchema schema = FitContextSchema(ContextMode::kSize, "px", training);
  EXPECT_EQ(schema.mode, ContextMode::kSize);
  EXPECT_EQ(schema.size_unit, "px");
  ASSERT_EQ(schema.features.size(), 7u);
  EXPECT_EQ(schema.InputSize(), 14u);
  EXPECT_FLOAT_EQ(schema.mean[2], 2.0f);
  EXPECT_FLOAT_EQ(schema.scale[2], 1.0f);
  EXPECT_FLOAT_EQ(schema.mean[0], 0.0f);
  EXPECT_FLOAT_EQ(schema.scale[0], 1e-3f);
  EXPECT_FLOAT_EQ(schema.mean[3], 0.0f);
  EXPECT_FLOAT_EQ(schema.scale[3], 1.0f);

  ParticleContext particle;
  particle.esd_um = std::expm1(4.0);            // (4 − 2) / 1 = 2
  particle.vignette_width = std::expm1(0.002);  // (0.002 − 0) / 0.001 = 2
  particle.abd_um = std::expm1(0.5);            // (0.5 − 0) / 1
  particle.length_um = std::nan("");            // not finite: missing
  const std::vector<float> input = EncodeContext(particle, schema);
  ASSERT_EQ(input.size(), 14u);
  const std::vector<float> expected = {2.0f,
                                       0,
                                       2.0f,
                                       0.5f,
                                       0,
                                       0,
                                       0,  // values
                                       1,
                                       0,
                                       1,
                                       1,
                                       0,
                                       0,
                                       0};  // presence flags
  for (size_t idx = 0; idx < expected.size(); ++idx) {
    EXPECT_NEAR(input[idx], expected[idx], 1e-4) << idx;
  }
  // Nothing known: all zeros.
  EXPECT_EQ(EncodeContext(ParticleContext{}, schema), std::vector<float>(14, 0.0f));
}

TEST(Context, EncodesDayOfYearAsSinAndCos) {
  // A quarter and three quarters of the year: sin 1 and −1 (mean 0, deviation 1), cos ≈ 0.
  std::vector<ParticleContext> training(2);
  training[0].day_of_year = 365.25 / 4;
  training[1].day_of_year = 365.25 * 3 / 4;
  training[0].latitude = 50.0;
  training[1].latitude = 52.0;
  const ContextSchema schema = FitContextSchema(ContextMode::kAll, "um", training);
  ASSERT_EQ(schema.InputSize(), 38u);
  EXPECT_NEAR(schema.mean[12], 0.0, 1e-6);
  EXPECT_NEAR(schema.scale[12], 1.0, 1e-6);
  EXPECT_FLOAT_EQ(schema.scale[13], 1e-3f);
  EXPECT_FLOAT_EQ(schema.mean[14], 51.0f);
  EXPECT_FLOAT_EQ(schema.scale[14], 1.0f);

  ParticleContext particle;
  particle.day_of_year = 365.25 / 2;  // midsummer: sin 0, cos −1
  particle.latitude = 53.0;
  const std::vector<float> input = EncodeContext(particle, schema);
  EXPECT_NEAR(input[12], 0.0, 1e-4);
  EXPECT_NEAR(input[13], -1.0 / 1e-3, 1e-1);
  EXPECT_FLOAT_EQ(input[14], 2.0f);
  EXPECT_EQ(input[19 + 12], 1.0f);
  EXPECT_EQ(input[19 + 13], 1.0f);
  EXPECT_EQ(input[19 + 14], 1.0f);
  EXPECT_EQ(input[19 + 18], 0.0f);  // salinity missing
  EXPECT_EQ(input[18], 0.0f);
}

TEST(Context, NoneModeHasNoInputs) {
  const ContextSchema schema = FitContextSchema(ContextMode::kNone, "um", {});
  EXPECT_EQ(schema.InputSize(), 0u);
  EXPECT_TRUE(EncodeContext(ParticleContext{.esd_um = 3.0}, schema).empty());
}

TEST(Context, RefusesInconsistentSchemas) {
  ExpectError(ErrorCode::kInvalidInput, "size unit", [] {
    FitContextSchema(ContextMode::kSize, "mm", {});
  });
  ContextSchema schema = FitContextSchema(ContextMode::kSize, "um", {});
  schema.mean.pop_back();
  ExpectError(ErrorCode::kInvalidInput, "means", [&] { EncodeContext({}, schema); });
  ContextSchema unknown{.features = {"colour"}, .mean = {0.0f}, .scale = {1.0f}};
  ExpectError(ErrorCode::kInvalidInput, "'colour'", [&] { EncodeContext({}, unknown); });
}

// ---------------------------------------------------------------------------------------------
// Metrics

// Probabilities that predict `predicted` with 0.6 and share 0.4 among the other classes.
std::vector<float> Predicting(const std::vector<int>& predicted, size_t classes) {
  std::vector<float> probabilities;
  for (int top : predicted) {
    for (size_t class_idx = 0; class_idx < classes; ++class_idx) {
      probabilities.push_back(
          static_cast<int>(class_idx) == top ? 0.6f : 0.4f / static_cast<float>(classes - 1));
    }
  }
  return probabilities;
}

TEST(Evaluate, MatchesAHandComputedConfusionMatrix) {
  // true \ predicted   A  B  C
  //   A                2  1  0    support 3
  //   B                0  3  1    support 4
  //   C                0  0  2    support 2
  // precision A 2/2, B 3/4, C 2/3; recall A 2/3, B 3/4, C 2/2
  // F1 A 0.8, B 0.75, C 0.8 → macro-F1 2.35/3; balanced accuracy (2/3 + 3/4 + 1)/3 = 29/36.
  const std::vector<int> targets = {0, 0, 0, 1, 1, 1, 1, 2, 2};
  const std::vector<int> predicted = {0, 0, 1, 1, 1, 1, 2, 2, 2};
  const EvaluationReport report = Evaluate(targets, Predicting(predicted, 3), {"A", "B", "C"});
  EXPECT_EQ(report.items, 9);
  EXPECT_EQ(report.confusion, (std::vector<std::vector<int64_t>>{{2, 1, 0}, {0, 3, 1}, {0, 0, 2}}));
  EXPECT_DOUBLE_EQ(report.top1, 7.0 / 9.0);
  EXPECT_DOUBLE_EQ(report.top5, 1.0);  // fewer than 5 classes: all of them count
  EXPECT_NEAR(report.macro_f1, 2.35 / 3.0, 1e-12);
  EXPECT_NEAR(report.balanced_accuracy, 29.0 / 36.0, 1e-12);
  ASSERT_EQ(report.per_class.size(), 3u);
  EXPECT_EQ(report.per_class[0].name, "A");
  EXPECT_DOUBLE_EQ(report.per_class[0].precision, 1.0);
  EXPECT_DOUBLE_EQ(report.per_class[0].recall, 2.0 / 3.0);
  EXPECT_NEAR(report.per_class[0].f1, 0.8, 1e-12);
  EXPECT_EQ(report.per_class[0].support, 3);
  EXPECT_DOUBLE_EQ(report.per_class[1].precision, 0.75);
  EXPECT_DOUBLE_EQ(report.per_class[1].recall, 0.75);
  EXPECT_NEAR(report.per_class[1].f1, 0.75, 1e-12);
  EXPECT_EQ(report.per_class[1].support, 4);
  EXPECT_DOUBLE_EQ(report.per_class[2].precision, 2.0 / 3.0);
  EXPECT_DOUBLE_EQ(report.per_class[2].recall, 1.0);
  EXPECT_EQ(report.per_class[2].support, 2);
  // Every item has confidence 0.6 (bin 9) and 7 of 9 are right: |7/9 − 0.6|.
  EXPECT_NEAR(report.ece, 7.0 / 9.0 - 0.6, 1e-6);

  EXPECT_EQ(ConfusionCsv(report), "true\\predicted,A,B,C\nA,2,1,0\nB,0,3,1\nC,0,0,2\n");
  const std::string svg = ConfusionSvg(report);
  EXPECT_EQ(svg.rfind("<svg", 0), 0u);
  EXPECT_NE(svg.find("</svg>"), std::string::npos);
  EXPECT_NE(svg.find(">3</text>"), std::string::npos);
  EXPECT_NE(svg.find(">A</text>"), std::string::npos);
}

TEST(Evaluate, ClassesWithoutSupportAreLeftOutOfTheMeans) {
  // Class C is never true and never predicted: precision, recall, F1 0; means over A and B.
  const EvaluationReport report = Evaluate({{0, 1}}, Predicting({0, 0}, 3), {"A", "B", "C"});
  // A: precision 1/2, recall 1 → F1 2/3; B: 0.
  EXPECT_NEAR(report.macro_f1, (2.0 / 3.0) / 2.0, 1e-12);
  EXPECT_NEAR(report.balanced_accuracy, 0.5, 1e-12);
  EXPECT_EQ(report.per_class[2].support, 0);
  EXPECT_EQ(report.per_class[2].f1, 0.0);
}

TEST(Evaluate, TopFiveCountsTheFiveHighestOfSix) {
  // Item 0: target 0 has the lowest probability (rank 6) → miss. Item 1: target 0 is 5th → hit.
  const std::vector<float> probabilities = {0.05f,
                                            0.3f,
                                            0.25f,
                                            0.2f,
                                            0.12f,
                                            0.08f,  //
                                            0.1f,
                                            0.35f,
                                            0.25f,
                                            0.2f,
                                            0.05f,
                                            0.05f};
  const EvaluationReport report = Evaluate({{0, 4}}, probabilities, {"a", "b", "c", "d", "e", "f"});
  EXPECT_DOUBLE_EQ(report.top1, 0.0);
  // Item 1's target is class 4 (0.05, tied with class 5 but ranked before it: 5th) → hit.
  EXPECT_DOUBLE_EQ(report.top5, 0.5);
}

TEST(Evaluate, ExpectedCalibrationErrorByHand) {
  // confidence  bin (×15)   right?
  //   0.90      13 (13.5)   yes
  //   0.95      14 (14.25)  no
  //   0.70      10 (10.5)   yes
  //   0.72      10 (10.8)   no
  // bin 13: |1 − 0.9| = 0.1, bin 14: |0 − 0.95| = 0.95, bin 10: |0.5 − 0.71| = 0.21
  // ECE = 1/4 · 0.1 + 1/4 · 0.95 + 2/4 · 0.21 = 0.3675
  const std::vector<float> probabilities = {0.9f, 0.1f, 0.95f, 0.05f, 0.3f, 0.7f, 0.28f, 0.72f};
  const EvaluationReport report = Evaluate({{0, 1, 1, 0}}, probabilities, {"x", "y"});
  EXPECT_NEAR(report.ece, 0.3675, 1e-6);
  EXPECT_DOUBLE_EQ(report.top1, 0.5);
}

TEST(Evaluate, RefusesMismatchedInput) {
  ExpectError(ErrorCode::kInvalidInput, "probabilities", [] {
    Evaluate({{0}}, std::vector<float>{0.5f}, {"a", "b"});
  });
  ExpectError(ErrorCode::kInvalidInput, "target 2", [] {
    Evaluate({{2}}, std::vector<float>{0.5f, 0.5f}, {"a", "b"});
  });
  const EvaluationReport empty = Evaluate({}, {}, {"a"});
  EXPECT_EQ(empty.items, 0);
  EXPECT_EQ(empty.top1, 0.0);
}

TEST(ConfusionCsv, QuotesNamesWithCommas) {
  const EvaluationReport report = Evaluate({{0}}, std::vector<float>{0.9f, 0.1f}, {"a,b", "<c>"});
  EXPECT_EQ(ConfusionCsv(report), "true\\predicted,\"a,b\",<c>\n\"a,b\",1,0\n<c>,0,0\n");
  EXPECT_NE(ConfusionSvg(report).find("&lt;c&gt;"), std::string::npos);
}

// ---------------------------------------------------------------------------------------------
// Calibration

TEST(Softmax, IsStableAndUsesTheTemperature) {
  const std::vector<float> logits = {0.0f, std::log(2.0f), std::log(3.0f)};
  const std::vector<float> at_one = Softmax(logits, 3, 1.0);
  EXPECT_NEAR(at_one[0], 1.0 / 6, 1e-6);
  EXPECT_NEAR(at_one[1], 2.0 / 6, 1e-6);
  EXPECT_NEAR(at_one[2], 3.0 / 6, 1e-6);
  // T = 2 takes square roots: 1, √2, √3.
  const std::vector<float> at_two = Softmax(logits, 3, 2.0);
  const double sum = 1.0 + std::sqrt(2.0) + std::sqrt(3.0);
  EXPECT_NEAR(at_two[1], std::sqrt(2.0) / sum, 1e-6);
  // Huge logits do not overflow; two rows are independent.
  const std::vector<float> huge =
      Softmax(std::vector<float>{1000.0f, 1000.0f, -1000.0f, 0.0f}, 2, 1.0);
  EXPECT_FLOAT_EQ(huge[0], 0.5f);
  EXPECT_FLOAT_EQ(huge[1], 0.5f);
  EXPECT_FLOAT_EQ(huge[2], 0.0f);
  EXPECT_FLOAT_EQ(huge[3], 1.0f);
  ExpectError(ErrorCode::kInvalidInput, "temperature", [&] { Softmax(logits, 3, 0.0); });
  ExpectError(ErrorCode::kInvalidInput, "rows of 2", [&] { Softmax(logits, 2, 1.0); });
}

TEST(FitTemperature, RecoversAKnownTemperature) {
  // Targets drawn from softmax(z / 2): the maximum-likelihood temperature is close to 2.
  constexpr size_t kClasses = 5;
  constexpr size_t kItems = 4000;
  std::mt19937 engine(7);
  std::normal_distribution<double> logit(0.0, 3.0);
  std::uniform_real_distribution<double> uniform(0.0, 1.0);
  std::vector<float> logits;
  std::vector<int> targets;
  for (size_t item_idx = 0; item_idx < kItems; ++item_idx) {
    std::vector<float> row;
    for (size_t class_idx = 0; class_idx < kClasses; ++class_idx) {
      row.push_back(static_cast<float>(logit(engine)));
    }
    const std::vector<float> truth = Softmax(row, kClasses, 2.0);
    double draw = uniform(engine);
    int target = static_cast<int>(kClasses) - 1;
    for (size_t class_idx = 0; class_idx < kClasses; ++class_idx) {
      draw -= truth[class_idx];
      if (draw < 0.0) {
        target = static_cast<int>(class_idx);
        break;
      }
    }
    logits.insert(logits.end(), row.begin(), row.end());
    targets.push_back(target);
  }
  const double temperature = FitTemperature(logits, kClasses, targets);
  EXPECT_NEAR(temperature, 2.0, 0.3);
  EXPECT_EQ(FitTemperature({}, kClasses, {}), 1.0);
  // Always-right, confident logits push the temperature to the lower bound.
  EXPECT_NEAR(FitTemperature(std::vector<float>{5.0f, 0.0f, 5.0f, 0.0f}, 2, std::vector<int>{0, 0}),
              0.05,
              1e-3);
}

TEST(ThresholdsForPrecision, WorkedExample) {
  // Target precision 0.75, three classes.
  // Class 0 wins six items; by probability: 0.95 ✓, 0.9 ✓, 0.8 ✗, 0.7 ✓, 0.6 ✗, 0.55 ✗.
  // Admitted precision going down: 1/1, 2/2, 2/3, 3/4, 3/5, 3/6 → the lowest t with ≥ 0.75 is
  // 0.7. Class 1 wins two items, both wrong → 1.0. Class 2 never wins → 0.75.
  const std::vector<float> probabilities = {
      0.95f, 0.03f, 0.02f,  // target 0
      0.9f,  0.05f, 0.05f,  // target 0
      0.8f,  0.1f,  0.1f,   // target 1
      0.7f,  0.2f,  0.1f,   // target 0
      0.6f,  0.3f,  0.1f,   // target 2
      0.55f, 0.3f,  0.15f,  // target 1
      0.05f, 0.9f,  0.05f,  // target 0
      0.3f,  0.6f,  0.1f,   // target 2
  };
  const std::vector<int> targets = {0, 0, 1, 0, 2, 1, 0, 2};
  const std::vector<double> thresholds = ThresholdsForPrecision(probabilities, 3, targets, 0.75);
  ASSERT_EQ(thresholds.size(), 3u);
  EXPECT_DOUBLE_EQ(thresholds[0], static_cast<double>(0.7f));
  EXPECT_DOUBLE_EQ(thresholds[1], 1.0);
  EXPECT_DOUBLE_EQ(thresholds[2], 0.75);
  // Precision 1 admits only the two best of class 0.
  EXPECT_DOUBLE_EQ(ThresholdsForPrecision(probabilities, 3, targets, 1.0)[0],
                   static_cast<double>(0.9f));

  // The decisions these thresholds give.
  EXPECT_EQ(DecideClass(std::vector<float>{0.7f, 0.2f, 0.1f}, thresholds), 0);  // at t: kept
  EXPECT_EQ(DecideClass(std::vector<float>{0.69f, 0.21f, 0.1f}, thresholds), -1);
  EXPECT_EQ(DecideClass(std::vector<float>{0.1f, 0.85f, 0.05f}, thresholds), -1);
  EXPECT_EQ(DecideClass(std::vector<float>{0.1f, 0.1f, 0.8f}, thresholds), 2);
  EXPECT_EQ(DecideClass(std::vector<float>{0.1f, 0.15f, 0.75f}, thresholds), 2);
  EXPECT_EQ(DecideClass(std::vector<float>{0.1f, 0.85f, 0.05f}, {}), 1);  // no thresholds
  ExpectError(ErrorCode::kInvalidInput, "thresholds", [&] {
    DecideClass(std::vector<float>{0.5f, 0.5f}, thresholds);
  });
}

TEST(ThresholdsForPrecision, AdmitsTiesTogether) {
  // Two class-0 items at 0.8, one right one wrong: precision 1/2 at t = 0.8, never 1/1.
  const std::vector<float> probabilities = {0.9f, 0.1f, 0.8f, 0.2f, 0.8f, 0.2f};
  const std::vector<double> thresholds =
      ThresholdsForPrecision(probabilities, 2, std::vector<int>{0, 1, 0}, 0.7);
  EXPECT_DOUBLE_EQ(thresholds[0], static_cast<double>(0.9f));
}

// ---------------------------------------------------------------------------------------------
// Classifier

class FakeClassifier : public Classifier {
 public:
  FakeClassifier(std::vector<float> rows, std::vector<double> thresholds) : rows_(std::move(rows)) {
    info_.classes = {{.name = "a", .aphia_id = {}},
                     {.name = "b", .aphia_id = {}},
                     {.name = "c", .aphia_id = 42}};
    info_.thresholds = std::move(thresholds);
  }
  std::vector<float> Probabilities(std::span<const Image> images,
                                   std::span<const ParticleContext> /*contexts*/) override {
    return std::vector<float>(rows_.begin(), rows_.begin() + static_cast<long>(images.size() * 3));
  }
  const ModelInfo& Info() const override { return info_; }

 private:
  std::vector<float> rows_;
  ModelInfo info_;
};

TEST(Classifier, ClassifyDecidesAndKeepsTheBestClasses) {
  FakeClassifier classifier({0.2f, 0.7f, 0.1f, 0.5f, 0.1f, 0.4f}, {0.6, 0.6, 0.6});
  const std::vector<Image> images(2, MakeGray(1, 1, {0}));
  const std::vector<Prediction> predictions = classifier.Classify(images, {}, 2);
  ASSERT_EQ(predictions.size(), 2u);
  EXPECT_EQ(predictions[0].class_index, 1);
  EXPECT_EQ(predictions[0].label, "b");
  EXPECT_FLOAT_EQ(static_cast<float>(predictions[0].probability), 0.7f);
  ASSERT_EQ(predictions[0].top_k.size(), 2u);
  EXPECT_EQ(predictions[0].top_k[0].first, "b");
  EXPECT_EQ(predictions[0].top_k[1].first, "a");
  // 0.5 < 0.6: uncertain, but the probability and the top classes stay.
  EXPECT_EQ(predictions[1].class_index, -1);
  EXPECT_EQ(predictions[1].label, kUncertainLabel);
  EXPECT_FLOAT_EQ(static_cast<float>(predictions[1].probability), 0.5f);
  EXPECT_EQ(predictions[1].top_k[0].first, "a");
  EXPECT_EQ(predictions[1].top_k[1].first, "c");

  EXPECT_EQ(classifier.Classify(images, {}, 10)[0].top_k.size(), 3u);
  EXPECT_TRUE(classifier.Classify(images, {}, 0)[0].top_k.empty());
  EXPECT_EQ(classifier.Info().ClassNames(), (std::vector<std::string>{"a", "b", "c"}));

  FakeClassifier no_thresholds({0.2f, 0.3f, 0.5f}, {});
  EXPECT_EQ(no_thresholds.Classify(std::span(images).first(1), {}, 1)[0].label, "c");
}

// ---------------------------------------------------------------------------------------------
// Datasets

TEST(LoadDataset, ReadsClassFolders) {
  TempDir dir;
  WritePng(dir.Path() / "b_class/2.png", 5, 3);
  WritePng(dir.Path() / "b_class/1.PNG", 4, 6);  // extensions are case-insensitive
  WritePng(dir.Path() / "a_class/x.png", 2, 2);
  WriteFile(dir.Path() / "a_class/notes.txt", "not an image");
  WriteFile(dir.Path() / "a_class/._x.png", "macOS resource fork");
  WritePng(dir.Path() / ".hidden/y.png", 2, 2);
  WritePng(dir.Path() / "top_level.png", 2, 2);

  const Dataset dataset = LoadDataset(dir.Path(), {});
  EXPECT_EQ(dataset.classes, (std::vector<std::string>{"a_class", "b_class"}));
  ASSERT_EQ(dataset.items.size(), 3u);
  EXPECT_EQ(dataset.items[0].path, dir.Path() / "a_class/x.png");
  EXPECT_EQ(dataset.items[1].path, dir.Path() / "b_class/1.PNG");
  EXPECT_EQ(dataset.items[2].path, dir.Path() / "b_class/2.png");
  EXPECT_EQ(dataset.targets, (std::vector<int>{0, 1, 1}));
  EXPECT_EQ(dataset.items[1].label, "b_class");
  EXPECT_EQ(dataset.size_unit, "px");
  EXPECT_EQ(dataset.items[1].context.vignette_width, 4.0);
  EXPECT_EQ(dataset.items[1].context.vignette_height, 6.0);
  EXPECT_FALSE(dataset.items[1].context.esd_um);
  EXPECT_EQ(dataset.ClassCounts(), (std::vector<int64_t>{1, 2}));

  const Dataset in_um = LoadDataset(dir.Path(), {.pixel_size_um = 0.5});
  EXPECT_EQ(in_um.size_unit, "um");
  EXPECT_EQ(in_um.items[1].context.vignette_width, 2.0);
  EXPECT_EQ(in_um.items[1].context.vignette_height, 3.0);
}

TEST(LoadDataset, ReadsLabelsCsv) {
  TempDir dir;
  WritePng(dir.Path() / "images/one.png", 3, 2);
  WritePng(dir.Path() / "images/two, with comma.png", 7, 1);
  WriteFile(
      dir.Path() / "labels.csv",
      "path,label\r\nimages/one.png,Tripos\r\n\r\n\"images/two, with comma.png\",Ciliophora\r\n");
  const Dataset dataset = LoadDataset(dir.Path() / "labels.csv", {});
  EXPECT_EQ(dataset.classes, (std::vector<std::string>{"Ciliophora", "Tripos"}));
  ASSERT_EQ(dataset.items.size(), 2u);
  EXPECT_EQ(dataset.items[0].path, dir.Path() / "images/one.png");
  EXPECT_EQ(dataset.items[0].label, "Tripos");
  EXPECT_EQ(dataset.targets, (std::vector<int>{1, 0}));
  EXPECT_EQ(dataset.items[1].context.vignette_width, 7.0);
  EXPECT_EQ(LoadItemImage(dataset.items[1]).width, 7);
}

TEST(LoadDataset, NamesTheFileAndLineOfBadRows) {
  TempDir dir;
  WritePng(dir.Path() / "ok.png", 2, 2);
  WriteFile(dir.Path() / "not_an_image.png", "hello");
  const std::filesystem::path csv = dir.Path() / "labels.csv";

  WriteFile(csv, "path,label\nok.png,a\nonly_a_path\n");
  ExpectError(
      ErrorCode::kInvalidInput, "labels.csv:3: expected 2 fields", [&] { LoadDataset(csv, {}); });
  WriteFile(csv, "path,label\nok.png,a\nmissing.png,b\n");
  ExpectError(ErrorCode::kNotFound, "labels.csv:3: image", [&] { LoadDataset(csv, {}); });
  WriteFile(csv, "path,label\nok.png,\n");
  ExpectError(ErrorCode::kInvalidInput, "labels.csv:2: expected a path and a label", [&] {
    LoadDataset(csv, {});
  });
  WriteFile(csv, "ok.png,a\n");
  ExpectError(
      ErrorCode::kInvalidInput, "labels.csv:1: expected the header", [&] { LoadDataset(csv, {}); });
  WriteFile(csv, "path,label\nok.png,a\n\"ok.png,a\n");
  ExpectError(
      ErrorCode::kInvalidInput, "labels.csv:3: unclosed quote", [&] { LoadDataset(csv, {}); });
  WriteFile(csv, "path,label\nok.png,a\nnot_an_image.png,b\n");
  ExpectError(ErrorCode::kInvalidInput, "labels.csv:3: ", [&] { LoadDataset(csv, {}); });
  WriteFile(csv, "");
  ExpectError(ErrorCode::kInvalidInput, "empty", [&] { LoadDataset(csv, {}); });
}

TEST(LoadDataset, RefusesMissingOrEmptyLocations) {
  TempDir dir;
  ExpectError(
      ErrorCode::kNotFound, "no such dataset", [&] { LoadDataset(dir.Path() / "nothing", {}); });
  ExpectError(ErrorCode::kInvalidInput, "no images found", [&] { LoadDataset(dir.Path(), {}); });
  WritePng(dir.Path() / "a/x.png", 2, 2);
  ExpectError(ErrorCode::kInvalidInput, "pixel_size_um", [&] {
    LoadDataset(dir.Path(), {.pixel_size_um = -1.0});
  });
  // A corrupt image in a class folder is named.
  WriteFile(dir.Path() / "a/y.jpg", "not a jpeg");
  ExpectError(ErrorCode::kInvalidInput, "y.jpg", [&] { LoadDataset(dir.Path(), {}); });
}

TEST(LoadDataset, ReadsTheRealDemoSetBothWays) {
  if (!std::filesystem::exists(kDemoSet)) {
    GTEST_SKIP() << "shared data not present: " << kDemoSet;
  }
  const std::vector<std::string> classes = {"Actinoptychus",
                                            "Bacillariophyceae",
                                            "Ciliophora",
                                            "Dinoflagellata",
                                            "Noctilucales",
                                            "Tripos"};
  const std::vector<int64_t> counts = {14, 16, 19, 20, 23, 13};
  const Dataset folders = LoadDataset(kDemoSet, {});
  EXPECT_EQ(folders.items.size(), 105u);
  EXPECT_EQ(folders.classes, classes);
  EXPECT_EQ(folders.ClassCounts(), counts);
  for (const LabelledImage& item : folders.items) {
    ASSERT_TRUE(item.context.vignette_width && item.context.vignette_height);
    EXPECT_GE(*item.context.vignette_width, 30.0);
    EXPECT_LE(*item.context.vignette_width, 503.0);
    EXPECT_GE(*item.context.vignette_height, 37.0);
    EXPECT_LE(*item.context.vignette_height, 555.0);
  }
  const Dataset csv = LoadDataset(kDemoSet / "labels.csv", {.pixel_size_um = 0.55});
  EXPECT_EQ(csv.classes, classes);
  EXPECT_EQ(csv.ClassCounts(), counts);
  EXPECT_EQ(csv.size_unit, "um");
  std::set<std::filesystem::path> folder_paths;
  std::set<std::filesystem::path> csv_paths;
  for (size_t item_idx = 0; item_idx < 105; ++item_idx) {
    folder_paths.insert(folders.items[item_idx].path.lexically_normal());
    csv_paths.insert(csv.items[item_idx].path.lexically_normal());
  }
  EXPECT_EQ(folder_paths, csv_paths);
  const Image first = LoadItemImage(folders.items[0]);
  EXPECT_TRUE(first.IsValid());
  EXPECT_EQ(first.width, static_cast<int>(*folders.items[0].context.vignette_width));
}

TEST(MakeDataset, DerivesSortedClassesAndTargets) {
  std::vector<LabelledImage> items(3);
  items[0].label = "zeta";
  items[1].label = "alpha";
  items[2].label = "zeta";
  const Dataset dataset = MakeDataset(items, "um");
  EXPECT_EQ(dataset.classes, (std::vector<std::string>{"alpha", "zeta"}));
  EXPECT_EQ(dataset.targets, (std::vector<int>{1, 0, 1}));
  EXPECT_EQ(dataset.size_unit, "um");
  items[1].label.clear();
  ExpectError(ErrorCode::kInvalidInput, "empty label", [&] { MakeDataset(items, "px"); });
}

TEST(LoadItemImage, DecodesBytesOrRefusesEmptyItems) {
  LabelledImage item{.path = {}, .encoded = EncodePng(MakeGray(2, 1, {7, 9})), .label = "a"};
  EXPECT_EQ(LoadItemImage(item), MakeGray(2, 1, {7, 9}));
  item.encoded = {1, 2, 3};
  ExpectError(ErrorCode::kInvalidInput, "item labelled 'a'", [&] { LoadItemImage(item); });
  item.encoded.clear();
  ExpectError(ErrorCode::kInvalidInput, "neither", [&] { LoadItemImage(item); });
}

// A dataset with classes of 10, 5, 2 and 1 items and distinct paths.
Dataset MakeUnbalanced() {
  std::vector<LabelledImage> items;
  const std::vector<std::pair<std::string, int>> sizes = {{"a", 10}, {"b", 5}, {"c", 2}, {"d", 1}};
  for (const auto& [label, count] : sizes) {
    for (int item_idx = 0; item_idx < count; ++item_idx) {
      items.push_back(LabelledImage{
          .path = label + std::to_string(item_idx) + ".png", .encoded = {}, .label = label});
    }
  }
  // Interleave so that dataset order is not class order.
  std::rotate(items.begin(), items.begin() + 7, items.end());
  return MakeDataset(std::move(items), "px");
}

std::vector<std::string> Paths(const Dataset& dataset) {
  std::vector<std::string> paths;
  for (const LabelledImage& item : dataset.items) {
    paths.push_back(item.path.string());
  }
  return paths;
}

TEST(StratifiedSplit, IsDisjointCompleteStratifiedAndSeeded) {
  const Dataset dataset = MakeUnbalanced();
  const auto [first, second] = StratifiedSplit(dataset, 0.2, 1);
  // round(0.2 n): a 2 of 10, b 1 of 5, c round(0.4) = 0 raised to 1, d round(0.2) = 0.
  EXPECT_EQ(first.ClassCounts(), (std::vector<int64_t>{2, 1, 1, 0}));
  EXPECT_EQ(second.ClassCounts(), (std::vector<int64_t>{8, 4, 1, 1}));
  EXPECT_EQ(first.classes, dataset.classes);
  EXPECT_EQ(second.classes, dataset.classes);
  std::vector<std::string> all = Paths(first);
  const std::vector<std::string> rest = Paths(second);
  all.insert(all.end(), rest.begin(), rest.end());
  std::vector<std::string> expected = Paths(dataset);
  std::sort(all.begin(), all.end());
  std::sort(expected.begin(), expected.end());
  EXPECT_EQ(all, expected);  // disjoint and complete
  for (size_t item_idx = 0; item_idx < first.items.size(); ++item_idx) {
    EXPECT_EQ(first.classes[static_cast<size_t>(first.targets[item_idx])],
              first.items[item_idx].label);
  }
  EXPECT_EQ(Paths(StratifiedSplit(dataset, 0.2, 1).first), Paths(first));
  bool any_differs = false;
  for (uint32_t seed = 2; seed < 6; ++seed) {
    any_differs = any_differs || Paths(StratifiedSplit(dataset, 0.2, seed).first) != Paths(first);
  }
  EXPECT_TRUE(any_differs);
  // 0.9 of two items would leave none for the second part.
  EXPECT_EQ(StratifiedSplit(dataset, 0.9, 1).first.ClassCounts(),
            (std::vector<int64_t>{9, 4, 1, 1}));
  EXPECT_EQ(StratifiedSplit(dataset, 0.0, 1).first.items.size(), 0u);
  EXPECT_EQ(StratifiedSplit(dataset, 1.0, 1).second.items.size(), 0u);
  ExpectError(ErrorCode::kInvalidInput, "fraction", [&] { StratifiedSplit(dataset, 1.5, 1); });
}

TEST(StratifiedFolds, CoverEveryItemOnceWithClassProportions) {
  const Dataset dataset = MakeUnbalanced();
  const auto folds = StratifiedFolds(dataset, 3, 5);
  ASSERT_EQ(folds.size(), 3u);
  std::map<std::string, int> seen;
  size_t smallest = dataset.items.size();
  size_t largest = 0;
  for (const auto& [train, validation] : folds) {
    EXPECT_EQ(train.items.size() + validation.items.size(), dataset.items.size());
    const std::vector<std::string> train_paths = Paths(train);
    for (const std::string& path : Paths(validation)) {
      ++seen[path];
      EXPECT_EQ(std::count(train_paths.begin(), train_paths.end(), path), 0) << path;
    }
    // Each class's 10, 5, 2, 1 items split as evenly as possible: ⌊n/3⌋ or ⌈n/3⌉.
    const std::vector<int64_t> counts = validation.ClassCounts();
    const std::vector<int64_t> totals = dataset.ClassCounts();
    for (size_t class_idx = 0; class_idx < counts.size(); ++class_idx) {
      EXPECT_GE(counts[class_idx], totals[class_idx] / 3);
      EXPECT_LE(counts[class_idx], (totals[class_idx] + 2) / 3);
    }
    smallest = std::min(smallest, validation.items.size());
    largest = std::max(largest, validation.items.size());
  }
  EXPECT_EQ(seen.size(), dataset.items.size());
  for (const auto& [path, times] : seen) {
    EXPECT_EQ(times, 1) << path;
  }
  EXPECT_LE(largest - smallest, 1u);
  const auto again = StratifiedFolds(dataset, 3, 5);
  for (size_t fold_idx = 0; fold_idx < 3; ++fold_idx) {
    EXPECT_EQ(Paths(again[fold_idx].second), Paths(folds[fold_idx].second));
  }
  ExpectError(ErrorCode::kInvalidInput, "2 folds", [&] { StratifiedFolds(dataset, 1, 5); });
}

}  // namespace
}  // namespace phytoflow
