#pragma once

// The formulas of ../shared/spec/quantities-and-indicators.md §4, one function each, so every
// report and export computes them the same way. Volumes in µm³, carbon in pg, water in litres.

#include <cstdint>
#include <optional>
#include <string_view>

namespace phytoflow {

// Litres of seawater that the imaged fluid stands for:
//   V_water[L] = V_imaged[mL] / 1000 × K / D
// with D the total dilution before the FlowCam (≥ 1 means diluted) and K the concentration factor
// (seawater volume per volume of concentrate). nullopt without an imaged volume (or one ≤ 0);
// throws Error{kInvalidInput} when D or K is not a number > 0.
std::optional<double> SeawaterLitres(std::optional<double> volume_imaged_ml,
                                     double dilution,
                                     double concentration);

// amount / seawater litres; NaN unless the litres are > 0.
double PerLitre(double amount, double seawater_litres);

enum class CarbonEquation {
  kDiatom,       // Menden-Deuer & Lessard 2000, diatoms all sizes: 0.2877 · V^0.811
  kLargeDiatom,  // diatoms > 3000 µm³: 0.1167 · V^0.881
  kNonDiatom,    // protists except diatoms: 0.2163 · V^0.939
};
std::string_view CarbonEquationName(CarbonEquation equation);

// Carbon per cell in pg from its volume in µm³; NaN in, NaN out; 0 for a volume ≤ 0.
double CarbonPgPerCell(double volume_um3, CarbonEquation equation);

// How diatoms are converted: the all-sizes equation (default, continuous), or the switch to the
// large-diatom equation above 3000 µm³ per cell (the ifcb-analysis convention).
enum class DiatomCarbon { kAllSizes, kSwitchAbove3000 };

// A chain's ABD comes from the summed area of its cells, so with n equal cells one cell has area
// A/n and its sphere the volume V_ABD / n^1.5: the chain's sphere is not the sum of its cells'.
// Volume of one cell of a chain of `cells` cells whose ABD sphere is `abd_volume_um3`.
double ChainCellVolumeUm3(double abd_volume_um3, int64_t cells);
// Biovolume of the chain's cells: cells × ChainCellVolumeUm3 = V_ABD / √n (V_ABD for one cell).
double ChainBiovolumeUm3(double abd_volume_um3, int64_t cells);

// Carbon of one imaged particle in pg from its ABD sphere volume: the equation is applied per cell
// (ChainCellVolumeUm3) and multiplied by the cells, because b < 1 makes one large volume give less
// carbon than its cells. Non-diatoms use kNonDiatom. Fewer than one cell counts as one.
double ParticleCarbonPg(double abd_volume_um3, int64_t cells, bool diatom, DiatomCarbon diatoms);

}  // namespace phytoflow
