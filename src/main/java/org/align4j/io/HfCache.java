// SPDX-License-Identifier: Apache-2.0
package org.align4j.io;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;

/**
 * The Hugging Face hub cache on this machine, read offline, as huggingface_hub lays it out ("Local Cache" in the Hub
 * docs, written "as a reference for reimplementing the cache system in any language"):
 *
 * <pre>
 * &lt;cache&gt;/models--&lt;org&gt;--&lt;name&gt;/refs/&lt;revision&gt;     a file holding the commit hash
 * &lt;cache&gt;/models--&lt;org&gt;--&lt;name&gt;/snapshots/&lt;hash&gt;/  the files (links into blobs/)
 * </pre>
 *
 * The cache root is {@code HF_HUB_CACHE}, else {@code HF_HOME/hub}, else {@code ~/.cache/huggingface/hub} (checked in
 * that order, as huggingface_hub does). Datasets live in the same cache as {@code datasets--org--name}. A revision
 * is a branch or tag name with a refs/ file, or a commit hash with a snapshot folder. Nothing is ever downloaded.
 */
public final class HfCache {
    private static final Pattern REPO_ID = Pattern.compile("[A-Za-z0-9][\\w.-]*/[\\w.-]+");
    private static final Pattern COMMIT = Pattern.compile("[0-9a-f]{40}");

    private HfCache() {}

    /** Whether {@code s} looks like a hub repository id ({@code org/name}). */
    public static boolean isRepoId(String s) {
        return REPO_ID.matcher(s).matches() && !s.contains("..");
    }

    /** The cache folders to look in, in order (only those set or existing are meaningful). */
    public static List<Path> roots() {
        List<Path> roots = new ArrayList<>();
        String hubCache = System.getenv("HF_HUB_CACHE"), home = System.getenv("HF_HOME");
        if (hubCache != null && !hubCache.isBlank()) roots.add(Path.of(hubCache));
        if (home != null && !home.isBlank()) roots.add(Path.of(home, "hub"));
        roots.add(Path.of(System.getProperty("user.home"), ".cache", "huggingface", "hub"));
        return roots;
    }

    /** The snapshot folder of model {@code repoId} at {@code revision} (null: main). */
    public static Path model(String repoId, String revision) throws IOException {
        return resolve("models", repoId, revision);
    }

    /** The snapshot folder of dataset {@code repoId} at {@code revision} (null: main). */
    public static Path dataset(String repoId, String revision) throws IOException {
        return resolve("datasets", repoId, revision);
    }

    private static Path resolve(String kind, String repoId, String revision) throws IOException {
        String rev = revision == null || revision.isBlank() ? "main" : revision;
        String folder = kind + "--" + repoId.replace("/", "--");
        List<String> looked = new ArrayList<>();
        for (Path root : roots()) {
            Path repo = root.resolve(folder);
            looked.add(repo.toString());
            if (!Files.isDirectory(repo)) continue;
            String hash = rev;
            Path ref = repo.resolve("refs").resolve(rev);
            if (Files.isRegularFile(ref))
                hash = Files.readString(ref, StandardCharsets.UTF_8).trim();
            else if (!COMMIT.matcher(rev).matches()) {
                looked.add(ref + " (no such ref)");
                continue;
            }
            Path snapshot = repo.resolve("snapshots").resolve(hash);
            if (Files.isDirectory(snapshot)) return snapshot;
            looked.add(snapshot + " (no such snapshot)");
        }
        throw new IOException(repoId + " (revision " + rev + ") is not in the local Hugging Face cache; align4j"
                + " never downloads. Looked in: " + String.join(", ", looked)
                + ". Download it elsewhere (huggingface-cli download " + repoId + ") into one of these, set"
                + " HF_HUB_CACHE or HF_HOME, or pass a local folder");
    }
}
