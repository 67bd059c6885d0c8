#include "phytoflow/products/abundance_correction.h"

#include "phytoflow/core/error.h"

#include <algorithm>
#include <cmath>
#include <random>

#include <fmt/core.h>

namespace phytoflow {
namespace {

// A dense row-major square matrix, enough for k ≤ a few hundred classes.
struct Matrix {
  size_t size = 0;
  std::vector<double> values;
  double& operator()(size_t row, size_t col) { return values[row * size + col]; }
  double operator()(size_t row, size_t col) const { return values[row * size + col]; }
};

Matrix Zeros(size_t size) {
  return Matrix{.size = size, .values = std::vector<double>(size * size, 0.0)};
}

// rates(true i, predicted j) = counts[i][j] / Σ_j counts[i][j]. A class without validation
// examples has no measured errors: it is taken as recognised perfectly (an identity row).
Matrix RowRates(const std::vector<std::vector<int64_t>>& counts) {
  const size_t k = counts.size();
  Matrix rates = Zeros(k);
  for (size_t true_idx = 0; true_idx < k; ++true_idx) {
    int64_t total = 0;
    for (const int64_t count : counts[true_idx]) {
      total += count;
    }
    if (total == 0) {
      rates(true_idx, true_idx) = 1.0;
      continue;
    }
    for (size_t predicted_idx = 0; predicted_idx < k; ++predicted_idx) {
      rates(true_idx, predicted_idx) =
          static_cast<double>(counts[true_idx][predicted_idx]) / static_cast<double>(total);
    }
  }
  return rates;
}

// Solves G[P,P] z = h[P] for the passive set P by Cholesky; G is AᵀA, symmetric positive
// semi-definite, so a tiny ridge keeps a rank-deficient subproblem solvable.
std::vector<double> SolvePassive(const Matrix& gram,
                                 const std::vector<double>& rhs,
                                 const std::vector<size_t>& passive) {
  const size_t p = passive.size();
  double trace = 0;
  for (const size_t idx : passive) {
    trace += gram(idx, idx);
  }
  const double ridge =
      1e-13 * std::max(trace / static_cast<double>(std::max<size_t>(p, 1)), 1e-300);
  std::vector<double> lower(p * p, 0.0);
  for (size_t row = 0; row < p; ++row) {
    for (size_t col = 0; col <= row; ++col) {
      double sum = gram(passive[row], passive[col]) + (row == col ? ridge : 0.0);
      for (size_t inner = 0; inner < col; ++inner) {
        sum -= lower[row * p + inner] * lower[col * p + inner];
      }
      if (row == col) {
        lower[row * p + row] = std::sqrt(std::max(sum, ridge));
      } else {
        lower[row * p + col] = sum / lower[col * p + col];
      }
    }
  }
  std::vector<double> z(p);
  for (size_t row = 0; row < p; ++row) {  // L y = h
    double sum = rhs[passive[row]];
    for (size_t col = 0; col < row; ++col) {
      sum -= lower[row * p + col] * z[col];
    }
    z[row] = sum / lower[row * p + row];
  }
  for (size_t row = p; row-- > 0;) {  // Lᵀ z = y
    double sum = z[row];
    for (size_t col = row + 1; col < p; ++col) {
      sum -= lower[col * p + row] * z[col];
    }
    z[row] = sum / lower[row * p + row];
  }
  return z;
}

// min ‖A x − b‖² subject to x ≥ 0, with A = ratesᵀ (observed_j = Σ_i true_i · rates(i, j)):
// Lawson & Hanson (1974) on the normal equations. It starts from the passive set of the
// unconstrained solution (dropping negative components until the rest is positive), which is
// the answer itself when the confusion is mild, then runs the usual active-set iterations.
std::vector<double> NonNegativeLeastSquares(const Matrix& rates,
                                            const std::vector<double>& observed) {
  const size_t k = rates.size;
  Matrix gram = Zeros(k);  // AᵀA with A(j, i) = rates(i, j): gram(i, m) = Σ_j rates(i,j)·rates(m,j)
  std::vector<double> rhs(k, 0.0);  // Aᵀb
  for (size_t row = 0; row < k; ++row) {
    for (size_t col = 0; col <= row; ++col) {  // symmetric: compute one half
      double sum = 0;
      for (size_t j = 0; j < k; ++j) {
        sum += rates(row, j) * rates(col, j);
      }
      gram(row, col) = sum;
      gram(col, row) = sum;
    }
    for (size_t j = 0; j < k; ++j) {
      rhs[row] += rates(row, j) * observed[j];
    }
  }
  double scale = 1.0;
  for (const double value : rhs) {
    scale = std::max(scale, std::abs(value));
  }
  const double tolerance = 1e-11 * scale;

  std::vector<double> x(k, 0.0);
  std::vector<bool> in_passive(k, true);
  const auto passive_list = [&] {
    std::vector<size_t> list;
    for (size_t idx = 0; idx < k; ++idx) {
      if (in_passive[idx]) {
        list.push_back(idx);
      }
    }
    return list;
  };
  // Warm start: the unconstrained solution on a shrinking set until it is positive.
  while (true) {
    const std::vector<size_t> passive = passive_list();
    if (passive.empty()) {
      break;
    }
    const std::vector<double> z = SolvePassive(gram, rhs, passive);
    bool positive = true;
    for (size_t idx = 0; idx < passive.size(); ++idx) {
      if (z[idx] <= 0) {
        in_passive[passive[idx]] = false;
        positive = false;
      }
    }
    if (positive) {
      for (size_t idx = 0; idx < passive.size(); ++idx) {
        x[passive[idx]] = z[idx];
      }
      break;
    }
  }

  const size_t max_iterations = 3 * k + 10;
  for (size_t iteration = 0; iteration < max_iterations; ++iteration) {
    // Gradient of −½‖Ax − b‖²: w = Aᵀb − AᵀA x. Optimal when no active variable wants to grow.
    size_t best = k;
    double best_gradient = tolerance;
    for (size_t idx = 0; idx < k; ++idx) {
      if (in_passive[idx]) {
        continue;
      }
      double gradient = rhs[idx];
      for (size_t col = 0; col < k; ++col) {
        gradient -= gram(idx, col) * x[col];
      }
      if (gradient > best_gradient) {
        best_gradient = gradient;
        best = idx;
      }
    }
    if (best == k) {
      break;
    }
    in_passive[best] = true;
    for (size_t inner = 0; inner <= k; ++inner) {
      const std::vector<size_t> passive = passive_list();
      const std::vector<double> z = SolvePassive(gram, rhs, passive);
      double step = 1.0;
      bool feasible = true;
      for (size_t idx = 0; idx < passive.size(); ++idx) {
        if (z[idx] <= 0) {
          feasible = false;
          const double current = x[passive[idx]];
          step = std::min(step, current / (current - z[idx]));
        }
      }
      if (feasible) {
        for (size_t idx = 0; idx < passive.size(); ++idx) {
          x[passive[idx]] = z[idx];
        }
        break;
      }
      // Move towards z until the first variable reaches 0, and make it active.
      for (size_t idx = 0; idx < passive.size(); ++idx) {
        const size_t var = passive[idx];
        x[var] += step * (z[idx] - x[var]);
        if (x[var] <= tolerance * 1e-3) {
          x[var] = 0;
          in_passive[var] = false;
        }
      }
    }
  }
  return x;
}

// `trials` draws among categories with `weights` (any non-negative scale), by conditional
// binomials so that the result is exact for any number of trials.
std::vector<double> Multinomial(int64_t trials,
                                const std::vector<double>& weights,
                                std::mt19937_64& rng) {
  std::vector<double> counts(weights.size(), 0.0);
  double mass = 0;
  for (const double weight : weights) {
    mass += weight;
  }
  int64_t left = trials;
  for (size_t idx = 0; idx < weights.size() && left > 0 && mass > 0; ++idx) {
    const double p = weights[idx] / mass;
    int64_t drawn = 0;
    if (idx + 1 == weights.size() || p >= 1.0) {
      drawn = left;
    } else if (p > 0) {
      drawn = std::binomial_distribution<int64_t>(left, p)(rng);
    }
    counts[idx] = static_cast<double>(drawn);
    left -= drawn;
    mass -= weights[idx];
  }
  return counts;
}

// The q-quantile of sorted values, interpolated linearly (R's type 7).
double Quantile(const std::vector<double>& sorted, double q) {
  const double position = q * static_cast<double>(sorted.size() - 1);
  const auto below = static_cast<size_t>(std::floor(position));
  const size_t above = std::min(below + 1, sorted.size() - 1);
  return sorted[below] + (position - static_cast<double>(below)) * (sorted[above] - sorted[below]);
}

}  // namespace

AdjustedCounts AdjustClassifyAndCount(std::span<const int64_t> observed,
                                      const ConfusionRates& confusion,
                                      int bootstrap_replicates,
                                      uint64_t seed,
                                      double level) {
  const size_t k = confusion.classes.size();
  Check(confusion.counts.size() == k,
        ErrorCode::kInvalidInput,
        fmt::format("confusion matrix: expected {} rows (one per class), found {}",
                    k,
                    confusion.counts.size()));
  for (size_t row = 0; row < k; ++row) {
    Check(confusion.counts[row].size() == k,
          ErrorCode::kInvalidInput,
          fmt::format("confusion matrix row {} ('{}'): expected {} columns, found {}",
                      row + 1,
                      confusion.classes[row],
                      k,
                      confusion.counts[row].size()));
    for (const int64_t count : confusion.counts[row]) {
      Check(count >= 0, ErrorCode::kInvalidInput, "confusion matrix: counts must be ≥ 0");
    }
  }
  Check(observed.size() == k,
        ErrorCode::kInvalidInput,
        fmt::format("observed counts: expected {} (one per class), found {}", k, observed.size()));
  Check(bootstrap_replicates >= 0, ErrorCode::kInvalidInput, "bootstrap replicates must be ≥ 0");
  Check(level > 0 && level < 1, ErrorCode::kInvalidInput, "confidence level must be in (0, 1)");

  AdjustedCounts result;
  int64_t total_observed = 0;
  for (const int64_t count : observed) {
    Check(count >= 0, ErrorCode::kInvalidInput, "observed counts must be ≥ 0");
    result.plain.push_back(static_cast<double>(count));
    total_observed += count;
  }
  if (k == 0) {
    return result;
  }
  const Matrix rates = RowRates(confusion.counts);
  const std::vector<double> estimate = NonNegativeLeastSquares(rates, result.plain);

  // Bootstrap: resample each validation row with its own size (the model's error rates are
  // estimates too) and the sample's predictions, and solve again.
  std::vector<std::vector<double>> replicates(k);
  std::mt19937_64 rng(seed);
  for (int replicate = 0; replicate < bootstrap_replicates; ++replicate) {
    std::vector<std::vector<int64_t>> counts(k, std::vector<int64_t>(k, 0));
    for (size_t true_idx = 0; true_idx < k; ++true_idx) {
      int64_t row_total = 0;
      std::vector<double> weights(k);
      for (size_t predicted_idx = 0; predicted_idx < k; ++predicted_idx) {
        row_total += confusion.counts[true_idx][predicted_idx];
        weights[predicted_idx] = static_cast<double>(confusion.counts[true_idx][predicted_idx]);
      }
      const std::vector<double> drawn = Multinomial(row_total, weights, rng);
      for (size_t predicted_idx = 0; predicted_idx < k; ++predicted_idx) {
        counts[true_idx][predicted_idx] = static_cast<int64_t>(drawn[predicted_idx]);
      }
    }
    const std::vector<double> resampled = Multinomial(total_observed, result.plain, rng);
    const std::vector<double> solution = NonNegativeLeastSquares(RowRates(counts), resampled);
    for (size_t idx = 0; idx < k; ++idx) {
      replicates[idx].push_back(solution[idx]);
    }
  }
  const double tail = (1.0 - level) / 2.0;
  for (size_t idx = 0; idx < k; ++idx) {
    AdjustedEstimate adjusted{
        .estimate = estimate[idx], .lower = estimate[idx], .upper = estimate[idx], .level = level};
    if (!replicates[idx].empty()) {
      std::sort(replicates[idx].begin(), replicates[idx].end());
      adjusted.lower = Quantile(replicates[idx], tail);
      adjusted.upper = Quantile(replicates[idx], 1.0 - tail);
    }
    result.adjusted.push_back(adjusted);
  }
  return result;
}

}  // namespace phytoflow
