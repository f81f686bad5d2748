// Test data for the vector index tests: random unit vectors and consecutive ids.
#pragma once

#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

namespace ragd::retrieval::testdata {

inline std::vector<float> random_unit_vectors(std::size_t n, int dim, unsigned seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal;
  std::vector<float> v(n * static_cast<std::size_t>(dim));
  for (std::size_t i = 0; i < n; ++i) {
    float norm = 0;
    float* row = v.data() + i * static_cast<std::size_t>(dim);
    for (int j = 0; j < dim; ++j) {
      row[j] = normal(rng);
      norm += row[j] * row[j];
    }
    for (int j = 0; j < dim; ++j) row[j] /= std::sqrt(norm);
  }
  return v;
}

inline std::vector<std::int64_t> id_range(std::int64_t first, std::size_t n) {
  std::vector<std::int64_t> ids(n);
  for (std::size_t i = 0; i < n; ++i) ids[i] = first + static_cast<std::int64_t>(i);
  return ids;
}

}  // namespace ragd::retrieval::testdata
