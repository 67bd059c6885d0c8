#include "phytoflow/products/quantities.h"

#include "phytoflow/core/error.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include <fmt/core.h>

namespace phytoflow {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// Menden-Deuer & Lessard (2000): log10 C[pg] = log10 a + b · log10 V[µm³].
struct CarbonCoefficients {
  double log10_a;
  double b;
};

CarbonCoefficients Coefficients(CarbonEquation equation) {
  switch (equation) {
    case CarbonEquation::kDiatom:
      return {-0.541, 0.811};
    case CarbonEquation::kLargeDiatom:
      return {-0.933, 0.881};
    case CarbonEquation::kNonDiatom:
      break;
  }
  return {-0.665, 0.939};
}

// Above this volume per cell the switch uses the large-diatom equation (iRfcb vol2C_lgdiatom).
constexpr double kLargeDiatomUm3 = 3000.0;

}  // namespace

std::optional<double> SeawaterLitres(std::optional<double> volume_imaged_ml,
                                     double dilution,
                                     double concentration) {
  Check(dilution > 0 && std::isfinite(dilution),
        ErrorCode::kInvalidInput,
        fmt::format("dilution factor: expected a number > 0, found {}", dilution));
  Check(concentration > 0 && std::isfinite(concentration),
        ErrorCode::kInvalidInput,
        fmt::format("concentration factor: expected a number > 0, found {}", concentration));
  if (!volume_imaged_ml || !(*volume_imaged_ml > 0)) {
    return std::nullopt;
  }
  return *volume_imaged_ml / 1000.0 * concentration / dilution;
}

double PerLitre(double amount, double seawater_litres) {
  return seawater_litres > 0 ? amount / seawater_litres : kNaN;
}

std::string_view CarbonEquationName(CarbonEquation equation) {
  switch (equation) {
    case CarbonEquation::kDiatom:
      return "diatom";
    case CarbonEquation::kLargeDiatom:
      return "large_diatom";
    case CarbonEquation::kNonDiatom:
      break;
  }
  return "non_diatom";
}

double CarbonPgPerCell(double volume_um3, CarbonEquation equation) {
  if (std::isnan(volume_um3)) {
    return kNaN;
  }
  if (volume_um3 <= 0) {
    return 0;
  }
  const CarbonCoefficients c = Coefficients(equation);
  return std::pow(10.0, c.log10_a + c.b * std::log10(volume_um3));
}

double ChainCellVolumeUm3(double abd_volume_um3, int64_t cells) {
  const auto n = static_cast<double>(std::max<int64_t>(cells, 1));
  return abd_volume_um3 / (n * std::sqrt(n));
}

double ChainBiovolumeUm3(double abd_volume_um3, int64_t cells) {
  return abd_volume_um3 / std::sqrt(static_cast<double>(std::max<int64_t>(cells, 1)));
}

double ParticleCarbonPg(double abd_volume_um3, int64_t cells, bool diatom, DiatomCarbon diatoms) {
  const int64_t cell_count = std::max<int64_t>(cells, 1);
  const double cell_volume = ChainCellVolumeUm3(abd_volume_um3, cell_count);
  CarbonEquation equation = CarbonEquation::kNonDiatom;
  if (diatom) {
    equation = diatoms == DiatomCarbon::kSwitchAbove3000 && cell_volume > kLargeDiatomUm3
                   ? CarbonEquation::kLargeDiatom
                   : CarbonEquation::kDiatom;
  }
  return static_cast<double>(cell_count) * CarbonPgPerCell(cell_volume, equation);
}

}  // namespace phytoflow
