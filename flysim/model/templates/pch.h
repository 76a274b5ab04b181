// The headers every brian2 code object includes; precompiled once per build (build.mk).
#include "objects.h"
#include "synapses_classes.h"
#include "brianlib/common_math.h"
#include "brianlib/stdint_compat.h"
#include <climits>
#include <cmath>
#include <ctime>
#include <fstream>
#include <iostream>
// glibc declares exp() as having a SIMD version (libmvec, glibc >= 2.22) only under -ffast-math
// in full; flysim keeps -fno-finite-math-only (NaN checks), so it declares it here: loops that
// call exp() (the PNs' exponential-Euler update) can then be vectorised. gcc only.
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__GLIBC__)
#if __GLIBC_PREREQ(2, 22)
extern "C" double exp(double) throw() __attribute__((__simd__("notinbranch")));
#endif
#endif
