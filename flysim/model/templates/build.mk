# Read after brian2's makefile (make -f makefile -f build.mk): the same program from the same
# sources, compiled in a third of the time.
# - Every code object includes the same headers (objects.h declares every array, <iostream>,
#   <random>...): parsing them took ~1 s of its ~1.3 s, so they are parsed once, into a
#   precompiled header (gcc falls back to the headers, silently, if it could not use it).
# - objects.cpp (array set-up and file input/output, run once per run) took 16 s at -O3, the
#   longest file of the build, and is compiled at -O0 (3 s; -O1 took 5 s; runs are no slower).
# make.deps (the dependencies, for rebuilds) is not made: a build directory is compiled once.
PCH := flysim_pch.h
$(PCH).gch: $(PCH) makefile
	$(CXX) $(CXXFLAGS) -x c++-header $< -o $@
$(filter-out objects.o,$(OBJS)): private CXXFLAGS += -include $(PCH)
$(filter-out objects.o,$(OBJS)): $(PCH).gch
objects.o: private OPTIMISATIONS := $(subst -O3,-O0,$(OPTIMISATIONS))
