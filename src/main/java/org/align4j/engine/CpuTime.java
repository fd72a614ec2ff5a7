// SPDX-License-Identifier: Apache-2.0
package org.align4j.engine;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * CPU time of this process and of the whole machine at one moment (Linux /proc), to tell how busy the other
 * processes kept the cores between two samples: {@code (busy' - busy) - (own' - own)} CPU seconds over {@code
 * nanoTime' - nanoTime} of wall time.
 *
 * @param ownSeconds this process's user + system CPU seconds (/proc/self/stat utime + stime)
 * @param busySeconds the machine's busy CPU seconds (/proc/stat's first line, all but idle and iowait)
 * @param nanoTime {@link System#nanoTime()} when sampled
 */
public record CpuTime(double ownSeconds, double busySeconds, long nanoTime) {
    /** Linux's USER_HZ: /proc reports CPU time in ticks of 1/100 s. */
    private static final double TICKS_PER_SECOND = 100.0;

    /**
     * Samples now.
     *
     * @throws IOException where /proc cannot be read (not Linux)
     */
    public static CpuTime now() throws IOException {
        String self = Files.readString(Path.of("/proc/self/stat"));
        String[] f = self.substring(self.lastIndexOf(')') + 2).split(" "); // fields from 3 (state) on
        double own = (Long.parseLong(f[11]) + Long.parseLong(f[12])) / TICKS_PER_SECOND; // utime, stime: 14, 15
        String[] cpu = Files.readAllLines(Path.of("/proc/stat")).get(0).trim().split("\\s+");
        long busy = 0;
        for (int i = 1; i < cpu.length && i <= 8; i++)
            if (i != 4 && i != 5) busy += Long.parseLong(cpu[i]); // skip idle, iowait
        return new CpuTime(own, busy / TICKS_PER_SECOND, System.nanoTime());
    }

    /** The cores other processes kept busy on average since {@code before} (0 when no time has passed). */
    public double otherCoresSince(CpuTime before) {
        double wall = (nanoTime - before.nanoTime) / 1e9;
        if (wall <= 0) return 0;
        return Math.max(0, (busySeconds - before.busySeconds) - (ownSeconds - before.ownSeconds)) / wall;
    }
}
