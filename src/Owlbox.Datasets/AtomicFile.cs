namespace Owlbox.Datasets;

/// <summary>Replaces a file so readers see the old or the new content, never a torn one: write a temporary file in
/// the same folder (with the target's permissions), flush it to disk, then rename over the target.</summary>
public static class AtomicFile
{
    public static void WriteAllText(string path, string content) => Write(path, stream =>
    {
        using var writer = new StreamWriter(stream, leaveOpen: true);
        writer.Write(content);
    });

    /// <summary>Deletes temporary files a writer killed mid-write left beside <paramref name="path"/>. Only for a caller
    /// holding the lock every writer of that file takes: then no other write is under way.</summary>
    public static void RemoveStale(string path)
    {
        var full = Path.GetFullPath(path);
        var directory = Path.GetDirectoryName(full)!;
        if (Directory.Exists(directory))
        {
            foreach (var stale in Directory.EnumerateFiles(directory, $".{Path.GetFileName(full)}.*.tmp"))
            {
                File.Delete(stale);
            }
        }
    }

    /// <summary>Streams the new content into the temporary file, then replaces <paramref name="path"/> with it, unless
    /// <paramref name="stillCurrent"/> says the target changed meanwhile (then nothing is replaced).</summary>
    /// <returns>Whether the target was replaced.</returns>
    public static bool Write(string path, Action<Stream> write, Func<bool>? stillCurrent = null)
    {
        var directory = Path.GetDirectoryName(Path.GetFullPath(path))!;
        Directory.CreateDirectory(directory);
        var temp = Path.Combine(directory, $".{Path.GetFileName(path)}.{Environment.ProcessId}.{Guid.NewGuid():N}.tmp");
        try
        {
            using (var stream = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None))
            {
                if (!OperatingSystem.IsWindows() && File.Exists(path))
                {
                    File.SetUnixFileMode(stream.SafeFileHandle, File.GetUnixFileMode(path)); // the user's permissions stay
                }
                write(stream);
                stream.Flush(flushToDisk: true);
            }
            if (stillCurrent is not null && !stillCurrent())
            {
                return false;
            }
            File.Move(temp, path, overwrite: true);
            return true;
        }
        finally
        {
            if (File.Exists(temp))
            {
                File.Delete(temp);
            }
        }
    }
}
