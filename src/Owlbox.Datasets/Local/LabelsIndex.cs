using System.IO.Hashing;
using System.Runtime.InteropServices;
using System.Text;

namespace Owlbox.Datasets.Local;

/// <summary>
/// Where each entry of one version of a labels file starts: per section, a 64-bit hash of each sample's name and the
/// byte offset of the name, sorted (16 bytes a sample: 16 MB for 10^6 samples). A job's writer reads its batch's
/// entries there instead of scanning the whole file, so the read costs the batch, not the dataset. Built by one streaming
/// pass (the setup check's, which reads the file anyway, or the first read's) and kept for the process, keyed by the
/// file's <see cref="FileStamp"/>: any change to the file (a fold, an editor's save) is a new version, read by a scan
/// and indexed again. An entry read at an offset must name its sample; anything unexpected (the name not there, a
/// sample twice, the file changed during the read, an entry that does not read) falls back to the scan, which gives the
/// real message.
/// </summary>
public sealed class LabelsIndex
{
    private const int Kept = 8; // datasets indexed at once in one process (a writer service serves several)
    private static readonly Dictionary<string, LabelsIndex> s_kept = new(StringComparer.Ordinal);

    private readonly string _file;
    private readonly FileStamp _stamp;
    private readonly Section _boxes;
    private readonly Section _metadata;

    private LabelsIndex(string file, FileStamp stamp, Section boxes, Section metadata, LabelsLayout layout) =>
        (_file, _stamp, _boxes, _metadata, Layout) = (file, stamp, boxes, metadata, layout);

    /// <summary>The version indexed.</summary>
    internal FileStamp Stamp => _stamp;

    /// <summary>Where that version's sections and top level open and close: what a writer splices at
    /// (<see cref="LabelsSplice"/>).</summary>
    public LabelsLayout Layout { get; }

    /// <summary>The samples indexed (an entry in either section counts once per section).</summary>
    public int Count => _boxes.Count + _metadata.Count;

    /// <summary>Whether the file is still the version indexed.</summary>
    public bool IsCurrent => FileStamp.Of(_file) == _stamp;

    /// <summary>Indexes the file <paramref name="path"/> names (a symbolic link is followed) by one streaming pass over
    /// its entries' names; null when there is no file or it changed during the pass.</summary>
    /// <exception cref="DatasetException">The file's JSON is broken.</exception>
    public static LabelsIndex? Build(string path)
    {
        var file = LabelsFile.ResolvePath(path);
        var stamp = FileStamp.Of(file);
        if (stamp.Exists && Checked(file, path, stamp) is { } sound)
        {
            return sound;
        }
        var builder = new Builder();
        using (var entries = LabelsReader.ReadFile(file, path, _ => false, checkAll: false, keepJson: false, builder).GetEnumerator())
        {
            while (entries.MoveNext())
            {
            }
        }
        return builder.Finish(file, stamp);
    }

    /// <summary>The index of a file the fast pass (<see cref="LabelsCheck"/>) found sound, every entry checked as the
    /// reader checks it; null when it cannot say (the reader is to check it then) or the file changed meanwhile.</summary>
    internal static LabelsIndex? Checked(string file, string path, FileStamp stamp)
    {
        var builder = new Builder();
        return LabelsCheck.Run(file, path, builder) && builder.Finish(file, stamp) is { HasRepeatedKey: false } index ? index : null;
    }

    /// <summary>The index of the version <paramref name="edits"/> made of this one (<see cref="LabelsSplice"/>): every
    /// offset moved by the edits before it, the new entries added, so the next read needs no pass over the file.</summary>
    /// <param name="stamp">The new version's stamp.</param>
    internal LabelsIndex Spliced(FileStamp stamp, IReadOnlyList<LabelsSplice.Edit> edits)
    {
        var ends = new long[edits.Count]; // where each edit ends in this version (edits are in file order, apart)
        var shifts = new long[edits.Count]; // how far everything from there moves
        var added = new List<(LabelsSection Section, LabelsSplice.Mark Mark, long At)>();
        long shift = 0;
        for (var i = 0; i < edits.Count; i++)
        {
            var e = edits[i];
            added.AddRange(e.Marks.Select(m => (m.Section, m, e.At + shift + m.Offset)));
            shift += e.Insert.Length - e.Remove;
            (ends[i], shifts[i]) = (e.At + e.Remove, shift);
        }
        long Map(long offset)
        {
            if (offset < 0)
            {
                return offset;
            }
            var i = Array.BinarySearch(ends, offset);
            i = i >= 0 ? LastOf(ends, i) : ~i - 1; // the last edit ending at or before the offset
            return i < 0 ? offset : offset + shifts[i];
        }
        long? Marked(LabelsSection section, LabelsSplice.MarkKind kind) =>
            added.Where(a => a.Section == section && a.Mark.Kind == kind).Select(a => (long?)a.At).LastOrDefault();
        LabelsSectionLayout? Moved(LabelsSection section, LabelsSectionLayout? old) =>
            old is null && Marked(section, LabelsSplice.MarkKind.SectionName) is null ? null
            : new LabelsSectionLayout(
                Marked(section, LabelsSplice.MarkKind.SectionName) ?? Map(old!.Name),
                Marked(section, LabelsSplice.MarkKind.SectionOpen) ?? Map(old!.Open),
                Marked(section, LabelsSplice.MarkKind.SectionClose) ?? Map(old!.Close),
                Marked(section, LabelsSplice.MarkKind.Entry) ?? Map(old?.LastEntry ?? -1));
        Section Entries(LabelsSection section, Section old) =>
            old.Spliced(Map, added.Where(a => a.Section == section && a.Mark.Kind == LabelsSplice.MarkKind.Entry)
                .Select(a => (Key(Encoding.UTF8.GetBytes(a.Mark.SampleId!)), a.At)).OrderBy(a => a.Item1).ToArray());
        var layout = new LabelsLayout(
            Marked(LabelsSection.Metadata, LabelsSplice.MarkKind.SectionName) ?? Map(Layout.LastRootMember),
            Map(Layout.RootClose),
            Moved(LabelsSection.BoundingBoxes, Layout.Boxes)!,
            Moved(LabelsSection.Metadata, Layout.Metadata));
        return new LabelsIndex(_file, stamp, Entries(LabelsSection.BoundingBoxes, _boxes), Entries(LabelsSection.Metadata, _metadata), layout);
    }

    private static int LastOf(long[] sorted, int i)
    {
        while (i + 1 < sorted.Length && sorted[i + 1] == sorted[i])
        {
            i++;
        }
        return i;
    }

    /// <summary>Whether two entries of a section have one key: a sample listed twice (or, rarely, two names with one
    /// 64-bit hash), for the reader to tell apart.</summary>
    private bool HasRepeatedKey => _boxes.HasRepeatedKey || _metadata.HasRepeatedKey;

    /// <summary>The process's index of <paramref name="file"/> (resolved) when it is current, else a new one, kept; null
    /// when none can be built (no file, broken JSON: the scan names the problem).</summary>
    internal static LabelsIndex? For(string file, string path)
    {
        lock (s_kept)
        {
            if (s_kept.TryGetValue(file, out var kept) && kept.IsCurrent)
            {
                return kept;
            }
        }
        try
        {
            var built = Build(path);
            Keep(built);
            return built;
        }
        catch (DatasetException)
        {
            return null;
        }
    }

    /// <summary>The index this process keeps for the file <paramref name="path"/> names, when it is of the file's
    /// current version; null otherwise (nothing is built).</summary>
    public static LabelsIndex? KeptFor(string path)
    {
        var file = LabelsFile.ResolvePath(path);
        lock (s_kept)
        {
            return s_kept.TryGetValue(file, out var kept) && kept.IsCurrent ? kept : null;
        }
    }

    /// <summary>Keeps an index for the next reads of its file in this process.</summary>
    internal static void Keep(LabelsIndex? index)
    {
        if (index is null)
        {
            return;
        }
        lock (s_kept)
        {
            if (s_kept.Count >= Kept && !s_kept.ContainsKey(index._file))
            {
                s_kept.Clear();
            }
            s_kept[index._file] = index;
        }
    }

    /// <summary>The entries of the samples named, read where the index says they are, in file order (what a scan with
    /// these samples wanted returns); null when the file is not the version indexed any more or an entry is not as the
    /// index says (then the caller scans).</summary>
    /// <param name="path">The file as the user named it, for the messages.</param>
    /// <param name="keepJson">Whether to keep each box's own JSON, as the scan's reader does.</param>
    public IReadOnlyList<LabelsEntry>? Read(IEnumerable<string> sampleIds, string path, bool keepJson = false) =>
        Locate(sampleIds, path, keepJson)?.Select(f => f.Entry).ToArray();

    /// <summary>As <see cref="Read"/>, with where each entry's name starts (what a writer splices at).</summary>
    internal IReadOnlyList<(long Offset, LabelsEntry Entry)>? Locate(IEnumerable<string> sampleIds, string path, bool keepJson)
    {
        if (!IsCurrent)
        {
            return null;
        }
        var found = new List<(long Offset, LabelsEntry Entry)>();
        try
        {
            using var stream = new FileStream(_file, FileMode.Open, FileAccess.Read, FileShare.Read, 1, FileOptions.RandomAccess);
            foreach (var id in sampleIds.Distinct(StringComparer.Ordinal))
            {
                var key = Key(Encoding.UTF8.GetBytes(id));
                foreach (var (section, index) in new[] { (LabelsSection.BoundingBoxes, _boxes), (LabelsSection.Metadata, _metadata) })
                {
                    var matches = 0;
                    foreach (var offset in index.Find(key))
                    {
                        var entry = ReadAt(stream, offset, section, path, keepJson);
                        if (entry?.SampleId != id)
                        {
                            // Another sample's entry (or none) where this one's was: the file moved under a stamp that
                            // did not show it (or, rarely, two names share a key). Read as absent, the sample would be
                            // appended beside its moved entry: the scan decides.
                            return null;
                        }
                        matches++;
                        found.Add((offset, entry));
                    }
                    if (matches > 1)
                    {
                        return null; // a sample twice in a section: the scan refuses it, naming it
                    }
                }
            }
        }
        catch (Exception e) when (e is DatasetException or IOException)
        {
            return null;
        }
        // Changed during the read (an editor's save): what was read may be of either version.
        return IsCurrent ? found.OrderBy(f => f.Offset).ToArray() : null;
    }

    private static ulong Key(ReadOnlySpan<byte> utf8Name) => Key(XxHash128.HashToUInt128(utf8Name));

    private static ulong Key(UInt128 hash) => (ulong)hash;

    private static readonly byte[] s_boxesHead = """{"version":1,"type":"bounding-box-labels","boundingBoxes":{"""u8.ToArray();
    private static readonly byte[] s_metadataHead = """{"version":1,"type":"bounding-box-labels","boundingBoxes":{},"metadata":{"""u8.ToArray();

    /// <summary>The entry whose name starts at <paramref name="offset"/>, read by the one reader: the file's bytes from
    /// there behind a header that opens the entry's section, up to the entry's end.</summary>
    private static LabelsEntry? ReadAt(FileStream stream, long offset, LabelsSection section, string path, bool keepJson)
    {
        stream.Position = offset;
        using var reader = new LabelsReader(new EntryStream(section == LabelsSection.Metadata ? s_metadataHead : s_boxesHead, stream), path,
            wanted: null, checkAll: true, keepJson);
        return reader.Read();
    }

    /// <summary>One section's names: hash keys sorted, the offsets beside them.</summary>
    private sealed class Section(List<ulong> keys, List<long> offsets)
    {
        public int Count => keys.Count;

        /// <summary>The section with its offsets moved and the entries added (sorted by key) merged in.</summary>
        public Section Spliced(Func<long, long> map, (ulong Key, long At)[] added)
        {
            var newKeys = new List<ulong>(keys.Count + added.Length);
            var newOffsets = new List<long>(keys.Count + added.Length);
            var j = 0;
            for (var i = 0; i < keys.Count; i++)
            {
                for (; j < added.Length && added[j].Key < keys[i]; j++)
                {
                    newKeys.Add(added[j].Key);
                    newOffsets.Add(added[j].At);
                }
                newKeys.Add(keys[i]);
                newOffsets.Add(map(offsets[i]));
            }
            for (; j < added.Length; j++)
            {
                newKeys.Add(added[j].Key);
                newOffsets.Add(added[j].At);
            }
            return new Section(newKeys, newOffsets);
        }

        public bool HasRepeatedKey
        {
            get
            {
                for (var i = 1; i < keys.Count; i++)
                {
                    if (keys[i] == keys[i - 1])
                    {
                        return true;
                    }
                }
                return false;
            }
        }

        public IEnumerable<long> Find(ulong key)
        {
            var i = keys.BinarySearch(key);
            if (i < 0)
            {
                yield break;
            }
            while (i > 0 && keys[i - 1] == key)
            {
                i--;
            }
            for (; i < keys.Count && keys[i] == key; i++)
            {
                yield return offsets[i];
            }
        }
    }

    /// <summary>Collects the names a reader passes (<see cref="LabelsReader"/>), then the index of that version.</summary>
    internal sealed class Builder
    {
        private readonly List<ulong> _boxKeys = [];
        private readonly List<long> _boxOffsets = [];
        private readonly List<ulong> _metadataKeys = [];
        private readonly List<long> _metadataOffsets = [];
        private readonly long[] _section = [-1, -1, -1, -1, -1, -1]; // name, open, close of boxes, then of metadata
        private long _lastRootMember = -1;
        private long _rootClose = -1;
        private long _lastBoxes = -1;
        private long _lastMetadata = -1;

        /// <summary>A top-level member: its name's offset and, for a section, its value's <c>{</c>.</summary>
        public void RootMember(LabelsSection section, long nameAt, long valueAt)
        {
            _lastRootMember = nameAt;
            if (section != LabelsSection.Other)
            {
                var i = section == LabelsSection.Metadata ? 3 : 0;
                (_section[i], _section[i + 1]) = (nameAt, valueAt);
            }
        }

        public void SectionEnd(LabelsSection section, long closeAt) => _section[section == LabelsSection.Metadata ? 5 : 2] = closeAt;

        public void RootEnd(long closeAt) => _rootClose = closeAt;

        public void Add(LabelsSection section, UInt128 hash, long offset)
        {
            var (keys, offsets) = section == LabelsSection.Metadata ? (_metadataKeys, _metadataOffsets) : (_boxKeys, _boxOffsets);
            keys.Add(Key(hash));
            offsets.Add(offset);
            if (section == LabelsSection.Metadata)
            {
                _lastMetadata = offset;
            }
            else
            {
                _lastBoxes = offset;
            }
        }

        /// <summary>The index, when the file is still as stamped before the pass; null otherwise.</summary>
        public LabelsIndex? Finish(string file, FileStamp stamp) =>
            stamp.Exists && _rootClose >= 0 && FileStamp.Of(file) == stamp
                ? new LabelsIndex(file, stamp, Sorted(_boxKeys, _boxOffsets), Sorted(_metadataKeys, _metadataOffsets), new LabelsLayout(
                    _lastRootMember, _rootClose,
                    new LabelsSectionLayout(_section[0], _section[1], _section[2], _lastBoxes),
                    _section[3] < 0 ? null : new LabelsSectionLayout(_section[3], _section[4], _section[5], _lastMetadata)))
                : null;

        /// <summary>Sorted in place: no copy of 16 bytes a sample at the setup's peak.</summary>
        private static Section Sorted(List<ulong> keys, List<long> offsets)
        {
            CollectionsMarshal.AsSpan(keys).Sort(CollectionsMarshal.AsSpan(offsets));
            return new Section(keys, offsets);
        }
    }

    /// <summary>A header's bytes, then the file's from where it stands, a few KB a read (an entry is usually small);
    /// the file is left open.</summary>
    private sealed class EntryStream(byte[] head, Stream file) : Stream
    {
        private int _head;

        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

        public override int Read(Span<byte> buffer)
        {
            if (_head < head.Length)
            {
                var n = Math.Min(buffer.Length, head.Length - _head);
                head.AsSpan(_head, n).CopyTo(buffer);
                _head += n;
                return n;
            }
            return file.Read(buffer[..Math.Min(buffer.Length, 4096)]);
        }

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}

/// <summary>What tells one version of a file from another: the time of its last write (to the tick), its size, and its
/// creation time (a file replaced by a rename is a new file).</summary>
public readonly record struct FileStamp(DateTime Written, long Length, DateTime Created)
{
    public bool Exists => Length >= 0;

    public static FileStamp Of(string file)
    {
        var info = new FileInfo(file);
        return info.Exists ? new FileStamp(info.LastWriteTimeUtc, info.Length, info.CreationTimeUtc) : new FileStamp(DateTime.MinValue, -1, DateTime.MinValue);
    }
}
