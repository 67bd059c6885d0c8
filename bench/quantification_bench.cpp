// Quantification: does correcting counts for classifier error (adjusted classify-and-count,
// products/abundance_correction.h) lower the count error of samples with realistic class
// mixtures? A model predicts every image of a labelled set once; the images are split
// (stratified, seeded) into a calibration half, whose confusion matrix drives the correction,
// and a test half, from which synthetic samples are drawn: Dirichlet(α = 1) class proportions
// and 300–1000 particles each. For each sample, plain classify-and-count (CC) and ACC are
// compared with the true counts. Prints one JSON line.
//   quantification_bench --model M.pt --data labels.csv [--pixel-size-um 0.5544] [--name vicko]
//                         [--samples 200] [--bootstrap 200] [--seed 1] [--alpha 1]
// Without --model and --data it runs Google Benchmark timings of AdjustClassifyAndCount and the
// same experiment on a simulated classifier with a known confusion matrix (what scripts/test
// runs, with PHYTOFLOW_BENCH_SMOKE=1). bench/quantification.sh drives the real case.

#include "phytoflow/classify/dataset.h"
#include "phytoflow/core/error.h"
#include "phytoflow/products/abundance_correction.h"
#include "phytoflow/products/taxonomy.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <iostream>
#include <map>
#include <numeric>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "bench_util.h"
#include <benchmark/benchmark.h>
#include <fmt/core.h>

#ifdef PHYTOFLOW_WITH_TORCH
#include "phytoflow/classify/torch/torch_model.h"
#endif

namespace phytoflow::bench {
namespace {

// One image of the labelled set: its true class and the model's argmax, as class indices.
struct Outcome {
  int truth = 0;
  int predicted = 0;
};

constexpr int64_t kAbundant = 50;

struct ExperimentOptions {
  int samples = 200;
  int min_particles = 300;
  int max_particles = 1000;
  double alpha = 1.0;  // Dirichlet concentration: 1 = uniform over the simplex
  int bootstrap = 200;
  double level = 0.95;
  uint64_t seed = 1;
};

struct ExperimentResult {
  int64_t calibration_items = 0;
  int64_t test_items = 0;
  int classes_scored = 0;  // classes with test images
  double mae_cc = 0;       // mean over samples × scored classes of |estimate − truth|, particles
  double mae_acc = 0;
  // The same over the (sample, class) pairs with at least kAbundant true particles: where a
  // class is common enough for its count to matter.
  double mae_cc_abundant = 0;
  double mae_acc_abundant = 0;
  int64_t abundant_pairs = 0;
  double living_relative_error_cc = 0;  // mean over samples of |Σ living est − truth| / truth
  double living_relative_error_acc = 0;
  double coverage = 0;  // share of (sample, class) whose interval holds the truth
  double mean_interval_width = 0;
  double test_top1 = 0;  // accuracy on the test half
};

std::vector<int64_t> Multinomial(int64_t trials,
                                 const std::vector<double>& weights,
                                 std::mt19937_64& rng) {
  std::vector<int64_t> counts(weights.size(), 0);
  double mass = std::accumulate(weights.begin(), weights.end(), 0.0);
  for (size_t idx = 0; idx < weights.size() && trials > 0 && mass > 0; ++idx) {
    const double p = std::min(weights[idx] / mass, 1.0);
    const int64_t drawn = idx + 1 == weights.size() || p >= 1.0
                              ? trials
                              : (p > 0 ? std::binomial_distribution<int64_t>(trials, p)(rng) : 0);
    counts[idx] = drawn;
    trials -= drawn;
    mass -= weights[idx];
  }
  return counts;
}

// Splits the outcomes of each true class in two halves at random (seeded), like
// StratifiedSplit: the calibration half gets ⌊n/2⌋ of a class's n images.
std::pair<std::vector<Outcome>, std::vector<Outcome>> SplitHalves(
    const std::vector<Outcome>& outcomes, int classes, uint64_t seed) {
  std::vector<std::vector<Outcome>> by_class(static_cast<size_t>(classes));
  for (const Outcome& outcome : outcomes) {
    by_class[static_cast<size_t>(outcome.truth)].push_back(outcome);
  }
  std::mt19937_64 rng(seed);
  std::pair<std::vector<Outcome>, std::vector<Outcome>> halves;
  for (std::vector<Outcome>& items : by_class) {
    std::shuffle(items.begin(), items.end(), rng);
    const size_t calibration = items.size() / 2;
    halves.first.insert(
        halves.first.end(), items.begin(), items.begin() + static_cast<ptrdiff_t>(calibration));
    halves.second.insert(
        halves.second.end(), items.begin() + static_cast<ptrdiff_t>(calibration), items.end());
  }
  return halves;
}

ExperimentResult RunExperiment(const std::vector<std::string>& classes,
                               const std::vector<bool>& living,
                               const std::vector<Outcome>& outcomes,
                               const ExperimentOptions& options) {
  const int k = static_cast<int>(classes.size());
  const auto [calibration, test] = SplitHalves(outcomes, k, options.seed);
  ExperimentResult result{.calibration_items = static_cast<int64_t>(calibration.size()),
                          .test_items = static_cast<int64_t>(test.size())};
  ConfusionRates confusion{
      .classes = classes,
      .counts = std::vector<std::vector<int64_t>>(static_cast<size_t>(k),
                                                  std::vector<int64_t>(static_cast<size_t>(k), 0))};
  for (const Outcome& outcome : calibration) {
    ++confusion.counts[static_cast<size_t>(outcome.truth)][static_cast<size_t>(outcome.predicted)];
  }
  std::vector<std::vector<int>> pool(static_cast<size_t>(k));  // predicted class of each test image
  int64_t correct = 0;
  for (const Outcome& outcome : test) {
    pool[static_cast<size_t>(outcome.truth)].push_back(outcome.predicted);
    correct += outcome.truth == outcome.predicted ? 1 : 0;
  }
  result.test_top1 =
      test.empty() ? 0 : static_cast<double>(correct) / static_cast<double>(test.size());
  std::vector<size_t> scored;  // classes that samples can contain
  for (size_t class_idx = 0; class_idx < pool.size(); ++class_idx) {
    if (!pool[class_idx].empty()) {
      scored.push_back(class_idx);
    }
  }
  result.classes_scored = static_cast<int>(scored.size());
  Check(!scored.empty(), ErrorCode::kInvalidInput, "no test images");

  std::mt19937_64 rng(options.seed * 7919 + 1);
  std::gamma_distribution<double> gamma(options.alpha, 1.0);
  std::uniform_int_distribution<int64_t> sample_size(options.min_particles, options.max_particles);
  double error_cc = 0;
  double error_acc = 0;
  double abundant_cc = 0;
  double abundant_acc = 0;
  double living_cc = 0;
  double living_acc = 0;
  int64_t living_samples = 0;
  int64_t covered = 0;
  double width = 0;
  for (int sample_idx = 0; sample_idx < options.samples; ++sample_idx) {
    std::vector<double> proportions(static_cast<size_t>(k), 0.0);
    for (const size_t class_idx : scored) {
      proportions[class_idx] = gamma(rng);
    }
    const std::vector<int64_t> truth = Multinomial(sample_size(rng), proportions, rng);
    std::vector<int64_t> observed(static_cast<size_t>(k), 0);
    for (const size_t class_idx : scored) {
      std::uniform_int_distribution<size_t> pick(0, pool[class_idx].size() - 1);
      for (int64_t item = 0; item < truth[class_idx]; ++item) {  // with replacement
        ++observed[static_cast<size_t>(pool[class_idx][pick(rng)])];
      }
    }
    const AdjustedCounts counts =
        AdjustClassifyAndCount(observed,
                               confusion,
                               options.bootstrap,
                               options.seed + static_cast<uint64_t>(sample_idx),
                               options.level);
    double living_truth = 0;
    double living_plain = 0;
    double living_adjusted = 0;
    for (size_t class_idx = 0; class_idx < static_cast<size_t>(k); ++class_idx) {
      if (living[class_idx]) {
        living_truth += static_cast<double>(truth[class_idx]);
        living_plain += counts.plain[class_idx];
        living_adjusted += counts.adjusted[class_idx].estimate;
      }
    }
    if (living_truth > 0) {
      living_cc += std::abs(living_plain - living_truth) / living_truth;
      living_acc += std::abs(living_adjusted - living_truth) / living_truth;
      ++living_samples;
    }
    for (const size_t class_idx : scored) {
      const auto true_count = static_cast<double>(truth[class_idx]);
      const AdjustedEstimate& adjusted = counts.adjusted[class_idx];
      error_cc += std::abs(counts.plain[class_idx] - true_count);
      error_acc += std::abs(adjusted.estimate - true_count);
      if (truth[class_idx] >= kAbundant) {
        abundant_cc += std::abs(counts.plain[class_idx] - true_count);
        abundant_acc += std::abs(adjusted.estimate - true_count);
        ++result.abundant_pairs;
      }
      covered += adjusted.lower <= true_count && true_count <= adjusted.upper ? 1 : 0;
      width += adjusted.upper - adjusted.lower;
    }
  }
  const double cells = static_cast<double>(options.samples) * static_cast<double>(scored.size());
  result.mae_cc = error_cc / cells;
  result.mae_acc = error_acc / cells;
  result.coverage = static_cast<double>(covered) / cells;
  if (result.abundant_pairs > 0) {
    result.mae_cc_abundant = abundant_cc / static_cast<double>(result.abundant_pairs);
    result.mae_acc_abundant = abundant_acc / static_cast<double>(result.abundant_pairs);
  }
  result.mean_interval_width = width / cells;
  if (living_samples > 0) {
    result.living_relative_error_cc = living_cc / static_cast<double>(living_samples);
    result.living_relative_error_acc = living_acc / static_cast<double>(living_samples);
  }
  return result;
}

// Living as the default taxonomy says; a class it does not know counts as living.
std::vector<bool> LivingClasses(const std::vector<std::string>& classes) {
  std::vector<bool> living;
  for (const std::string& name : classes) {
    const Taxon* taxon = DefaultTaxonomy().Find(name);
    living.push_back(taxon == nullptr || taxon->Living());
  }
  return living;
}

// A simulated classifier: true class i is predicted as j with probability rates[i][j].
std::vector<Outcome> SimulatedOutcomes(const std::vector<std::vector<double>>& rates,
                                       int per_class,
                                       uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<Outcome> outcomes;
  for (size_t truth = 0; truth < rates.size(); ++truth) {
    std::discrete_distribution<int> predict(rates[truth].begin(), rates[truth].end());
    for (int item = 0; item < per_class; ++item) {
      outcomes.push_back({.truth = static_cast<int>(truth), .predicted = predict(rng)});
    }
  }
  return outcomes;
}

ExperimentOptions OptionsForRun() {
  ExperimentOptions options;
  if (SmokeRun()) {
    options.samples = 10;
    options.bootstrap = 20;
  }
  return options;
}

// Timing of one correction with its bootstrap, for k classes with 90 % accuracy.
void BM_AdjustClassifyAndCount(benchmark::State& state) {
  const auto k = static_cast<size_t>(state.range(0));
  ConfusionRates confusion;
  std::vector<int64_t> observed;
  for (size_t row = 0; row < k; ++row) {
    confusion.classes.push_back("c" + std::to_string(row));
    std::vector<int64_t> counts(k, 1);
    counts[row] = static_cast<int64_t>(9 * (k - 1));  // 90 % on the diagonal
    confusion.counts.push_back(counts);
    observed.push_back(static_cast<int64_t>(10 + 37 * row % 200));
  }
  const int replicates = SmokeRun() ? 10 : 200;
  for (auto _ : state) {
    benchmark::DoNotOptimize(AdjustClassifyAndCount(observed, confusion, replicates, 1));
  }
  state.counters["bootstrap"] = replicates;
}
BENCHMARK(BM_AdjustClassifyAndCount)->Arg(3)->Arg(20)->Arg(121)->Unit(benchmark::kMillisecond);

// The experiment on a simulated 4-class classifier with asymmetric confusions (a rare class that
// the common ones leak into): the counters are the errors and the interval coverage.
void BM_SimulatedQuantification(benchmark::State& state) {
  const std::vector<std::string> classes = {"Junk", "Protist", "Missed", "Ciliophora"};
  const std::vector<std::vector<double>> rates = {{0.90, 0.04, 0.05, 0.01},
                                                  {0.10, 0.80, 0.05, 0.05},
                                                  {0.25, 0.05, 0.70, 0.00},
                                                  {0.05, 0.15, 0.00, 0.80}};
  const std::vector<Outcome> outcomes = SimulatedOutcomes(rates, 200, 3);
  ExperimentResult result;
  for (auto _ : state) {
    result = RunExperiment(classes, LivingClasses(classes), outcomes, OptionsForRun());
  }
  state.counters["mae_cc"] = result.mae_cc;
  state.counters["mae_acc"] = result.mae_acc;
  state.counters["coverage"] = result.coverage;
}
BENCHMARK(BM_SimulatedQuantification)->Unit(benchmark::kMillisecond)->Iterations(1);

struct Arguments {
  std::string model;
  std::string data;
  std::string name = "dataset";
  std::optional<double> pixel_size_um;
  ExperimentOptions options = OptionsForRun();
};

#ifdef PHYTOFLOW_WITH_TORCH
// Predicts every image once (argmax, before thresholds: what the confusion matrix counts).
std::vector<Outcome> PredictAll(Classifier& classifier, const Dataset& dataset, int64_t& skipped) {
  const std::vector<std::string> classes = classifier.Info().ClassNames();
  const size_t k = classes.size();
  std::vector<Outcome> outcomes;
  std::vector<Image> images;
  std::vector<ParticleContext> contexts;
  std::vector<int> truths;
  const auto flush = [&] {
    if (images.empty()) {
      return;
    }
    const std::vector<float> probabilities = classifier.Probabilities(images, contexts);
    for (size_t row = 0; row < images.size(); ++row) {
      const auto first = probabilities.begin() + static_cast<ptrdiff_t>(row * k);
      const auto best = std::max_element(first, first + static_cast<ptrdiff_t>(k));
      outcomes.push_back({.truth = truths[row], .predicted = static_cast<int>(best - first)});
    }
    images.clear();
    contexts.clear();
    truths.clear();
  };
  for (const LabelledImage& item : dataset.items) {
    const auto at = std::find(classes.begin(), classes.end(), item.label);
    if (at == classes.end()) {
      ++skipped;
      continue;
    }
    truths.push_back(static_cast<int>(at - classes.begin()));
    images.push_back(LoadItemImage(item));
    contexts.push_back(item.context);
    if (images.size() >= 64) {
      flush();
    }
  }
  flush();
  return outcomes;
}
#endif

int RunOnDataset(const Arguments& arguments) {
#ifdef PHYTOFLOW_WITH_TORCH
  const std::unique_ptr<Classifier> classifier = OpenTorchClassifier(arguments.model, {});
  const Dataset dataset = LoadDataset(arguments.data, {.pixel_size_um = arguments.pixel_size_um});
  int64_t skipped = 0;
  const std::vector<Outcome> outcomes = PredictAll(*classifier, dataset, skipped);
  const std::vector<std::string> classes = classifier->Info().ClassNames();
  const std::vector<bool> living = LivingClasses(classes);
  const ExperimentResult result = RunExperiment(classes, living, outcomes, arguments.options);
  const ExperimentOptions& options = arguments.options;
  fmt::print(
      "{{\"case\": \"{}\", \"model_id\": \"{}\", \"classes\": {}, \"classes_scored\": {}, "
      "\"living_classes\": {}, \"items\": {}, \"skipped\": {}, \"calibration_items\": {}, "
      "\"test_items\": {}, \"test_top1\": {:.4f}, \"samples\": {}, \"particles\": [{}, {}], "
      "\"dirichlet_alpha\": {}, \"bootstrap\": {}, \"seed\": {}, \"mae_cc\": {:.3f}, "
      "\"mae_acc\": {:.3f}, \"mae_reduction\": {:.4f}, \"abundant_pairs\": {}, "
      "\"mae_cc_abundant\": {:.3f}, \"mae_acc_abundant\": {:.3f}, \"living_relative_error_cc\": "
      "{:.4f}, "
      "\"living_relative_error_acc\": {:.4f}, \"ci_level\": {}, \"ci_coverage\": {:.4f}, "
      "\"ci_mean_width\": {:.3f}}}\n",
      arguments.name,
      classifier->Info().id,
      classes.size(),
      result.classes_scored,
      std::count(living.begin(), living.end(), true),
      outcomes.size(),
      skipped,
      result.calibration_items,
      result.test_items,
      result.test_top1,
      options.samples,
      options.min_particles,
      options.max_particles,
      options.alpha,
      options.bootstrap,
      options.seed,
      result.mae_cc,
      result.mae_acc,
      result.mae_cc > 0 ? 1.0 - result.mae_acc / result.mae_cc : 0.0,
      result.abundant_pairs,
      result.mae_cc_abundant,
      result.mae_acc_abundant,
      result.living_relative_error_cc,
      result.living_relative_error_acc,
      options.level,
      result.coverage,
      result.mean_interval_width);
  return 0;
#else
  (void)arguments;
  std::fprintf(stderr,
               "quantification_bench: built without LibTorch, cannot read %s\n",
               arguments.model.c_str());
  return 6;
#endif
}

// Takes our options out of argv; the rest goes to Google Benchmark.
Arguments ParseArguments(int& argc, char** argv) {
  Arguments arguments;
  int kept = 1;
  for (int idx = 1; idx < argc; ++idx) {
    const std::string flag = argv[idx];
    const bool has_value = idx + 1 < argc;
    if (flag == "--model" && has_value) {
      arguments.model = argv[++idx];
    } else if (flag == "--data" && has_value) {
      arguments.data = argv[++idx];
    } else if (flag == "--name" && has_value) {
      arguments.name = argv[++idx];
    } else if (flag == "--pixel-size-um" && has_value) {
      arguments.pixel_size_um = std::stod(argv[++idx]);
    } else if (flag == "--samples" && has_value) {
      arguments.options.samples = std::stoi(argv[++idx]);
    } else if (flag == "--bootstrap" && has_value) {
      arguments.options.bootstrap = std::stoi(argv[++idx]);
    } else if (flag == "--alpha" && has_value) {
      arguments.options.alpha = std::stod(argv[++idx]);
    } else if (flag == "--seed" && has_value) {
      arguments.options.seed = std::stoull(argv[++idx]);
    } else {
      argv[kept++] = argv[idx];
    }
  }
  argc = kept;
  return arguments;
}

}  // namespace
}  // namespace phytoflow::bench

int main(int argc, char** argv) {
  const phytoflow::bench::Arguments arguments = phytoflow::bench::ParseArguments(argc, argv);
  if (!arguments.model.empty() || !arguments.data.empty()) {
    if (arguments.model.empty() || arguments.data.empty()) {
      std::fprintf(stderr, "quantification_bench: give both --model and --data\n");
      return 2;
    }
    try {
      return phytoflow::bench::RunOnDataset(arguments);
    } catch (const std::exception& error) {
      std::fprintf(stderr, "quantification_bench: %s\n", error.what());
      return 1;
    }
  }
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
