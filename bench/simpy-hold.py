"""The hold model on SimPy 2.3.1 (Debian's python3-simpy), the anchor `bench/engine.ts` runs side by side.

PROCESSES processes, each repeatedly holding for an exponential time (mean MEAN_MS, rounded to whole ms),
until EVENTS holds have ended: the same shape and event count as the engine's run. Python's own generator
draws the times (same distribution, not the same stream: a pure-Python xoroshiro would slow SimPy down).
Prints one JSON line: events, CPU seconds and wall seconds of the simulate() call, and the versions.
Usage: /usr/bin/python3 bench/simpy-hold.py EVENTS PROCESSES MEAN_MS SEED
"""
import json
import platform
import random
import sys
import time

try:
    import SimPy
    from SimPy.Simulation import Process, Simulation, hold
except ImportError as error:
    print(f"SimPy is not importable under {sys.executable}: {error}", file=sys.stderr)
    sys.exit(3)

EVENTS, PROCESSES, MEAN_MS, SEED = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4])
expovariate = random.Random(SEED).expovariate
RATE = 1.0 / MEAN_MS
left = [EVENTS]


class Holder(Process):
    def run(self):
        while True:
            yield hold, self, round(expovariate(RATE))
            left[0] -= 1
            if left[0] <= 0:
                self.sim.stopSimulation()


sim = Simulation()
sim.initialize()
for p in range(PROCESSES):
    holder = Holder(name=str(p), sim=sim)
    sim.activate(holder, holder.run(), at=round(expovariate(RATE)))
cpu0, wall0 = time.process_time(), time.perf_counter()
sim.simulate(until=float("inf"))
cpu_s, wall_s = time.process_time() - cpu0, time.perf_counter() - wall0
print(json.dumps({"side": "simpy", "events": EVENTS - left[0], "cpuS": cpu_s, "wallS": wall_s, "check": sim.now(),
                  "version": f"SimPy {SimPy.__version__}, Python {platform.python_version()}"}))
