using System.Globalization;
using System.IO.Hashing;
using System.Text;
using System.Text.Json;

namespace Owlbox.Datasets.Local;

/// <summary>One sample's change in a journal record: its labels as the write found them and as it left them.</summary>
public sealed record JournaledSample(string Id, SampleLabels Before, SampleLabels After);

/// <summary>
/// The append-only journal of label writes not yet folded into <c>bounding_boxes.labels</c>
/// (<c>.owlbox/labels.journal</c>), so a write costs its batch, not the dataset: a batch appends one record (its
/// samples' labels before and after, a sequence number and a CRC-32 of the record, flushed to disk before the write
/// returns) instead of rewriting the file. The labels file stays the file other tools read: the journal is folded into
/// it at job end, when it grows past <see cref="FoldBytes"/> or its first record is older than <see cref="FoldAge"/>,
/// when the review page is quiet and when it stops, and by any reader that opens the dataset (which is also the crash recovery: a process
/// killed between an append and its fold leaves complete records, folded by the next one). A torn or damaged record
/// ends the journal: it and anything after it were never acknowledged, so they are dropped.
/// </summary>
/// <remarks>Callers hold the dataset's labels lock (<see cref="LocalDatasetBackend.LockLabelsAsync"/>) for every
/// method but <see cref="HasPending"/>.</remarks>
public static class LabelJournal
{
    public const string FileName = "labels.journal";

    /// <summary>A journal this large is folded at the next write (bounded work per fold, bounded memory per read).</summary>
    public const long FoldBytes = 8 << 20;

    /// <summary>A journal whose first record is this old is folded at the next write.</summary>
    public static readonly TimeSpan FoldAge = TimeSpan.FromSeconds(30);

    private static readonly JsonSerializerOptions s_json = new(JsonSerializerDefaults.Web);

    public static string PathOf(string directory) => OwlboxFolder.PathOf(directory, FileName);

    /// <summary>Whether there is anything to fold (read without the lock: a cheap test before taking it).</summary>
    public static bool HasPending(string directory) =>
        OwlboxFolder.TryPathOf(directory, out _, FileName) is { } path && new FileInfo(path) is { Exists: true, Length: > 0 };

    /// <summary>The complete records, in order; reading stops at the first torn or damaged one.</summary>
    /// <param name="validBytes">The length of the journal's sound prefix (where the next record goes).</param>
    public static IReadOnlyList<IReadOnlyList<JournaledSample>> Read(string directory, out long validBytes)
    {
        validBytes = 0;
        var path = PathOf(directory);
        if (!File.Exists(path))
        {
            return [];
        }
        var records = new List<IReadOnlyList<JournaledSample>>();
        var bytes = File.ReadAllBytes(path);
        var at = 0;
        while (at < bytes.Length)
        {
            var end = Array.IndexOf(bytes, (byte)'\n', at);
            if (end < 0 || ParseRecord(bytes.AsSpan(at, end - at), records.Count + 1) is not { } record)
            {
                break; // torn tail: never acknowledged
            }
            records.Add(record);
            at = end + 1;
        }
        validBytes = at;
        return records;
    }

    /// <summary>One record line, <c>seq TAB crc32 TAB json</c>; null when it is not exactly the record expected.</summary>
    public static IReadOnlyList<JournaledSample>? ParseRecord(ReadOnlySpan<byte> line, long expectedSeq)
    {
        var first = line.IndexOf((byte)'\t');
        var second = first < 0 ? -1 : line[(first + 1)..].IndexOf((byte)'\t');
        if (second < 0)
        {
            return null;
        }
        var json = line[(first + second + 2)..];
        if (!long.TryParse(line[..first], NumberStyles.None, CultureInfo.InvariantCulture, out var seq) || seq != expectedSeq
            || !uint.TryParse(line.Slice(first + 1, second), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var crc)
            || crc != Crc32.HashToUInt32(json))
        {
            return null;
        }
        try
        {
            return JsonSerializer.Deserialize<JournaledSample[]>(json, s_json);
        }
        catch (JsonException)
        {
            return null;
        }
    }

    public static byte[] FormatRecord(long seq, IReadOnlyList<JournaledSample> samples)
    {
        var json = JsonSerializer.SerializeToUtf8Bytes(samples, s_json);
        return [.. Encoding.ASCII.GetBytes($"{seq}\t{Crc32.HashToUInt32(json):x8}\t"), .. json, (byte)'\n'];
    }

    /// <summary>Appends one record after the journal's sound prefix (a torn tail is cut off first) and flushes it to
    /// disk: once this returns, the write survives a crash.</summary>
    public static void Append(string directory, IReadOnlyList<JournaledSample> samples, long seq, long validBytes)
    {
        using var stream = new FileStream(PathOf(directory), FileMode.OpenOrCreate, FileAccess.Write, FileShare.None);
        stream.SetLength(validBytes);
        stream.Position = validBytes;
        stream.Write(FormatRecord(seq, samples));
        stream.Flush(flushToDisk: true);
    }

    /// <summary>Whether the journal is due for folding: large, or holding a record older than <see cref="FoldAge"/>.</summary>
    public static bool Due(string directory, DateTime utcNow)
    {
        var info = new FileInfo(PathOf(directory));
        return info.Exists && (info.Length >= FoldBytes || utcNow - info.CreationTimeUtc >= FoldAge);
    }

    /// <summary>What a sample holds once the records are applied, in order, to what the labels file holds for it.</summary>
    public static SampleLabels View(IEnumerable<JournaledSample> records, SampleLabels file)
    {
        var view = file;
        foreach (var r in records)
        {
            view = Merge(r.Before, r.After, view);
        }
        return view;
    }

    /// <summary>
    /// A record applied to a sample that may have changed since it was written (another program saved the labels file
    /// before the fold): per box (by count) and per metadata key, what the record changed is taken where the sample still
    /// holds what the record found; where the sample holds something else, someone else changed it since and theirs is
    /// kept. A sample as the record found it becomes what the record left (its order and scores too); one already as
    /// the record left it stays (a record folded twice changes nothing).
    /// </summary>
    public static SampleLabels Merge(SampleLabels before, SampleLabels after, SampleLabels current)
    {
        if (current.SameAs(before))
        {
            return after;
        }
        var had = before.Boxes.CountBy(b => b).ToDictionary();
        var left = after.Boxes.CountBy(b => b).ToDictionary();
        var now = current.Boxes.CountBy(b => b).ToDictionary();
        var boxes = current.Boxes.ToList();
        foreach (var box in had.Keys.Union(left.Keys))
        {
            var n = now.GetValueOrDefault(box);
            if (n != had.GetValueOrDefault(box))
            {
                continue; // changed by someone else since: theirs
            }
            var target = left.GetValueOrDefault(box);
            for (; n > target; n--)
            {
                boxes.RemoveAt(boxes.FindLastIndex(b => b == box));
            }
            boxes.AddRange(after.Boxes.Where(b => b == box).Take(target - n));
        }
        var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var key in current.Metadata.Keys.Concat(after.Metadata.Keys).Distinct(StringComparer.Ordinal))
        {
            var value = current.Metadata.TryGetValue(key, out var c) ? c : null;
            if (value == (before.Metadata.TryGetValue(key, out var b) ? b : null))
            {
                value = after.Metadata.TryGetValue(key, out var a) ? a : null;
            }
            if (value is not null)
            {
                metadata[key] = value;
            }
        }
        return new SampleLabels(boxes, metadata);
    }

    /// <summary>Folds the complete records into the labels file (one streamed rewrite) and empties the journal. A
    /// sample whose image left the folder since is not written (as a write for it now would be refused).</summary>
    public static void Fold(string directory)
    {
        var records = Read(directory, out _);
        if (records.Count > 0)
        {
            var bySample = records.SelectMany(r => r).GroupBy(s => s.Id, StringComparer.Ordinal)
                .Where(g => LocalDataset.HasImage(directory, g.Key))
                .Select(g => new LabelUpdate(g.Key, current => View(g, current) is var next && next.SameAs(current) ? null : next))
                .ToArray();
            LabelsFile.Update(Path.Combine(directory, LabelsFile.FileName), bySample);
        }
        // The fold is in the labels file (renamed into place) before the journal goes; a crash between the two folds
        // the records again, which changes nothing (Merge: a sample as a record left it stays).
        File.Delete(PathOf(directory));
    }

    /// <summary>As <see cref="FoldPendingAsync"/>, for the synchronous readers (opening a dataset).</summary>
    public static void FoldPending(string directory) => FoldPendingAsync(directory, CancellationToken.None).GetAwaiter().GetResult();

    /// <summary>Folds a journal a write left (at job end, or one a killed process left): takes the labels lock only when
    /// there is something to fold.</summary>
    public static async Task FoldPendingAsync(string directory, CancellationToken cancellationToken)
    {
        if (!HasPending(directory))
        {
            return;
        }
        await using var _ = await LocalDatasetBackend.LockLabelsAsync(directory, cancellationToken).ConfigureAwait(false);
        Fold(directory);
    }
}
