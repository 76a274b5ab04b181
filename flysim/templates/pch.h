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
