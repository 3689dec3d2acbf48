using System.Collections.Concurrent;
using System.Text;
using System.Text.Json;
using CsCheck;
using Owlbox.Datasets.Local;
using Owlbox.Datasets.Proposals;
using Owlbox.Datasets.Review;
using Owlbox.Labeling.Boxes;
using Owlbox.Labeling.Policies;
using Owlbox.Labeling.Provenance;

namespace Owlbox.Datasets.Tests;

/// <summary>
/// Model-based test of every writer of a local labels file: random sequences of job writes (each delete-existing
/// policy), review accepts and rejects, undos from two page sessions, label removals, imports and hand edits (another
/// program rewriting the file between operations) run against a real dataset folder and against a reference model a
/// few lines long; after every step the labels file and the proposal decisions must equal the model's. The model's
/// rules: a job merges (policy, never a box identical to one the image has); an accept adds a box only when the image
/// lacks it; a removal takes one occurrence of a box that is there; an undo puts each box it touched back to the
/// count it had before its action, where the count is still what the action left (otherwise someone changed that box
/// since, and it is theirs); an image not in the folder is never written. Seeded (the same sequences every run), and a
/// failure is shrunk by CsCheck to a shortest sequence that still fails.
/// </summary>
public sealed class LabelWriteModelTests
{
    private const int Sequences = 500;
    private const string Set = "p";
    private const string Foreign = "old-deleted.jpg"; // an entry the file keeps for an image no longer in the folder

    // Few distinct boxes, so writers keep meeting the same ones: identical adds, removals of shared boxes.
    private static readonly LabeledBox[] s_boxes =
    [
        new("cat", 0, 0, 5, 5), new("cat", 10, 0, 5, 5), new("cat", 20, 0, 5, 5),
        new("dog", 0, 0, 5, 5), new("dog", 10, 0, 5, 5), new("dog", 20, 0, 5, 5),
    ];

    private static readonly string[] s_images = ["a.jpg", "b.jpg", "c.jpg"];
    private static readonly string[] s_ghosts = ["ghost.jpg", "../../etc/passwd", Foreign];
    private static readonly string[] s_sessions = ["tab-1", "tab-2"];
    private const int ProposalsPerImage = 4;

    private abstract record Op;

    private sealed record JobWrite(string Image, int[] Boxes, DeleteExistingPolicy Policy, string[] PromptLabels) : Op;

    private sealed record Decide(int Session, (int Image, int Index)[] Refs, ReviewDecision Decision) : Op;

    private sealed record Remove(int Session, string Image, int[] Boxes) : Op;

    private sealed record Undo(int Session) : Op;

    private sealed record Import((string Image, int[] Boxes)[] Images) : Op;

    private sealed record HandEdit(int Image, int Box, bool Add) : Op;

    /// <summary>A job ends: its journal is folded into the labels file.</summary>
    private sealed record JobEnd : Op;

    /// <summary>The process dies between a journal append and its fold, in the middle of appending another record (a torn
    /// tail), and starts again: its in-memory state (the review's undo stacks) is gone, the journal's complete records
    /// are folded when the dataset is next opened, the torn one is not.</summary>
    private sealed record Crash : Op;

    private sealed record Scenario(int[][] Initial, int[][] Proposed, Op[] Ops);

    private static readonly Gen<int[]> s_boxList = Gen.Int[0, s_boxes.Length - 1].Array[0, 3];
    private static readonly Gen<string> s_anyImage = Gen.Frequency((9, Gen.OneOf(s_images)), (1, Gen.OneOf(s_ghosts)));
    private static readonly Gen<int> s_session = Gen.Int[0, s_sessions.Length - 1];

    private static readonly Gen<Op> s_op = Gen.Frequency(
        (3, Gen.Select(s_anyImage, s_boxList, Gen.Enum<DeleteExistingPolicy>(), Gen.OneOf<string[]>(["cat"], ["dog"], ["cat", "dog"]),
            (i, b, p, l) => (Op)new JobWrite(i, b, p, l))),
        (4, Gen.Select(s_session, Gen.Select(Gen.Int[0, s_images.Length - 1], Gen.Int[0, ProposalsPerImage]).Array[1, 3],
            (s, r) => (Op)new Decide(s, r, ReviewDecision.Accepted))),
        (1, Gen.Select(s_session, Gen.Select(Gen.Int[0, s_images.Length - 1], Gen.Int[0, ProposalsPerImage]).Array[1, 3],
            (s, r) => (Op)new Decide(s, r, ReviewDecision.Rejected))),
        (2, Gen.Select(s_session, s_anyImage, Gen.Int[0, s_boxes.Length - 1].Array[1, 2], (s, i, b) => (Op)new Remove(s, i, b))),
        (4, s_session.Select(s => (Op)new Undo(s))),
        (1, Gen.Select(s_anyImage, s_boxList).Array[1, 2].Select(m => (Op)new Import(m))),
        (2, Gen.Select(Gen.Int[0, s_images.Length - 1], Gen.Int[0, s_boxes.Length - 1], Gen.Bool, (i, b, a) => (Op)new HandEdit(i, b, a))),
        (1, Gen.Const((Op)new JobEnd())),
        (1, Gen.Const((Op)new Crash())));

    private static readonly Gen<Scenario> s_scenario = Gen.Select(
        Gen.Int[0, s_boxes.Length - 1].Array[0, 4].Array[s_images.Length],
        Gen.Int[0, s_boxes.Length - 1].Array[0, ProposalsPerImage].Array[s_images.Length],
        s_op.Array[1, 40],
        (initial, proposed, ops) => new Scenario(initial, proposed, ops));

    [Fact]
    public async Task RandomSequencesOfEveryWriter_NeverLoseOrDoubleALabel()
    {
        var coverage = new Coverage();
        var failures = new ConcurrentDictionary<int, Exception>();
        // Each sequence has its own folder: four at a time (the time goes to flushing files, not to the CPU).
        await Parallel.ForEachAsync(Enumerable.Range(0, Sequences), new ParallelOptions { MaxDegreeOfParallelism = 4 }, async (i, _) =>
        {
            try
            {
                await RunAsync(ScenarioOf(i), coverage);
            }
            catch (Exception e)
            {
                failures[i] = e;
            }
        });
        if (!failures.IsEmpty)
        {
            var first = failures.Keys.Min();
            var seed = Seed(first);
            // Shrink from the failing seed to a shortest sequence that still fails (CsCheck throws with it).
            await Check.SampleAsync(s_scenario, s => RunAsync(s, new Coverage()), seed: seed, iter: 2000, threads: 1, print: Describe);
            throw new InvalidOperationException($"{failures.Count} of {Sequences} sequences failed; sequence {first} (seed {seed}):\n{Describe(ScenarioOf(first))}", failures[first]);
        }
        // The sequences reach the cases that matter, or passing would prove little.
        Assert.True(coverage is
        {
            IdenticalAccepts: > 0, UndoneBoxes: > 0, UndoSkips: > 0, Refused: > 0, HandEdits: > 0, SharedUndos: > 0, KeptForOthers: > 0,
            CrashesWithJournal: > 0, Folds: > 0
        }, coverage.ToString());
    }

    private static string Seed(int sequence) => new PCG(22, (ulong)sequence).ToString();

    private static Scenario ScenarioOf(int sequence) => s_scenario.Generate(PCG.Parse(Seed(sequence)), null, out _);

    /// <summary>How often the sequences met each interesting case.</summary>
    private sealed class Coverage
    {
        public int IdenticalAccepts; // an accept of a box the image had
        public int UndoneBoxes; // a box an undo put back to its count before
        public int UndoSkips; // a box an undo left, changed since by someone else
        public int SharedUndos; // an undo whose session was not the latest to change the labels
        public int Refused; // a write for an image not in the folder
        public int HandEdits;
        public int KeptForOthers; // a box an undo left because someone else wrote its image since
        public int CrashesWithJournal; // a crash with journaled writes not yet folded
        public int Folds; // a journal with records folded into the labels file

        public override string ToString() =>
            $"identical accepts {IdenticalAccepts}, boxes undone {UndoneBoxes}, undo skips {UndoSkips}, undos after another session's change {SharedUndos}, refused {Refused}, hand edits {HandEdits}, kept for others {KeptForOthers}, crashes with a journal {CrashesWithJournal}, folds {Folds}";
    }

    private static async Task RunAsync(Scenario scenario, Coverage coverage)
    {
        var root = Directory.CreateTempSubdirectory("owlbox-model-").FullName;
        try
        {
            var model = new Model(scenario, coverage);
            var actual = new Actual(root, scenario, coverage);
            for (var step = 0; step < scenario.Ops.Length; step++)
            {
                var op = scenario.Ops[step];
                try
                {
                    await actual.ApplyAsync(op, model);
                    actual.AssertEquals(model);
                }
                catch (Exception e) when (e is not CsCheckException)
                {
                    throw new InvalidOperationException($"step {step + 1} ({Describe(op)}): {e.Message}", e);
                }
            }
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }

    /// <summary>The reference: box counts per image, decisions per proposal, an undo stack per session.</summary>
    private sealed class Model
    {
        private readonly Coverage _coverage;
        private int _lastSession = -1;

        public Model(Scenario scenario, Coverage coverage)
        {
            _coverage = coverage;
            for (var i = 0; i < s_images.Length; i++)
            {
                Labels[s_images[i]] = scenario.Initial[i].Select(b => s_boxes[b]).ToList();
                Decisions[i] = new ReviewDecision?[scenario.Proposed[i].Length];
            }
            Labels[Foreign] = [s_boxes[0]];
            Proposed = scenario.Proposed;
        }

        public Dictionary<string, List<LabeledBox>> Labels { get; } = new(StringComparer.Ordinal);

        public ReviewDecision?[][] Decisions { get; } = new ReviewDecision?[s_images.Length][];

        public int[][] Proposed { get; }

        /// <summary>Each image's metadata, as who last wrote it: "" none (the first file, an editor's save), a job's
        /// prompt. Review changes and imports keep it.</summary>
        private readonly Dictionary<string, string> _metadata = s_images.ToDictionary(i => i, _ => "", StringComparer.Ordinal);

        private readonly Stack<Entry>[] _undo = [new(), new()];

        /// <summary>What an action did: the proposals it decided, per (image, box) the count before and after, and each
        /// image's metadata as it left it.</summary>
        private sealed record Entry(List<(int Image, int Index)> Decided, ReviewDecision Decision, List<(string Image, LabeledBox Box, int Before, int After)> Counts)
        {
            public Dictionary<string, string> Metadata { get; init; } = [];
        }

        private static bool InDataset(string image) => s_images.Contains(image);

        private int Count(string image, LabeledBox box) => Labels[image].Count(b => b == box);

        /// <returns>Whether the write is taken (the image is in the dataset).</returns>
        public bool JobWrite(JobWrite w)
        {
            if (!InDataset(w.Image))
            {
                Interlocked.Increment(ref _coverage.Refused);
                return false;
            }
            var fresh = w.Boxes.Select(b => s_boxes[b]).ToHashSet();
            var next = new List<LabeledBox>();
            foreach (var box in s_boxes)
            {
                var keep = w.Policy switch
                {
                    DeleteExistingPolicy.No => true,
                    DeleteExistingPolicy.MatchingPrompt => !w.PromptLabels.Contains(box.Label),
                    _ => false,
                };
                var count = Count(w.Image, box);
                var n = keep ? Math.Max(count, fresh.Contains(box) ? 1 : 0) : fresh.Contains(box) ? 1 : 0;
                next.AddRange(Enumerable.Repeat(box, n));
            }
            Labels[w.Image] = next;
            _metadata[w.Image] = "job: " + string.Join('\n', w.PromptLabels);
            return true;
        }

        /// <returns>The images whose proposals were decided.</returns>
        /// <returns>The images whose boxes were decided; null when a ref names a box the set does not hold (then the
        /// whole request is refused and nothing changes).</returns>
        public string[]? Decide(Decide d)
        {
            if (d.Refs.Any(r => r.Index >= Decisions[r.Image].Length))
            {
                return null;
            }
            var decided = d.Refs.Distinct().Where(r => r.Index < Decisions[r.Image].Length && Decisions[r.Image][r.Index] is null).ToList();
            var counts = new List<(string, LabeledBox, int, int)>();
            foreach (var (image, index) in decided)
            {
                Decisions[image][index] = d.Decision;
                var box = s_boxes[Proposed[image][index]];
                if (d.Decision == ReviewDecision.Accepted && Count(s_images[image], box) == 0)
                {
                    Labels[s_images[image]].Add(box);
                    counts.Add((s_images[image], box, 0, 1));
                }
                else if (d.Decision == ReviewDecision.Accepted)
                {
                    Interlocked.Increment(ref _coverage.IdenticalAccepts);
                }
            }
            if (decided.Count > 0)
            {
                _lastSession = d.Session;
                _undo[d.Session].Push(new Entry(decided, d.Decision, counts) { Metadata = new(_metadata) });
            }
            return decided.Select(r => s_images[r.Image]).Distinct().ToArray();
        }

        /// <returns>The images whose labels changed; null when the image is refused.</returns>
        public string[]? Remove(Remove r)
        {
            if (!InDataset(r.Image))
            {
                Interlocked.Increment(ref _coverage.Refused);
                return null;
            }
            var counts = new List<(string, LabeledBox, int, int)>();
            foreach (var box in r.Boxes.Select(b => s_boxes[b]))
            {
                var before = Count(r.Image, box);
                if (Labels[r.Image].Remove(box))
                {
                    counts.Add((r.Image, box, before, before - 1));
                }
            }
            if (counts.Count == 0)
            {
                return [];
            }
            // One entry per box: a box removed twice in one request goes from its first count to its last.
            var merged = counts.GroupBy(c => c.Item2).Select(g => (r.Image, g.Key, g.First().Item3, g.Last().Item4)).ToList();
            _undo[r.Session].Push(new Entry([], default, merged) { Metadata = new(_metadata) });
            _lastSession = r.Session;
            return [r.Image];
        }

        /// <returns>Whether the session had anything to undo.</returns>
        public bool Undo(Undo u)
        {
            if (!_undo[u.Session].TryPop(out var entry))
            {
                return false;
            }
            if (_lastSession != u.Session)
            {
                Interlocked.Increment(ref _coverage.SharedUndos);
            }
            foreach (var (image, index) in entry.Decided)
            {
                if (Decisions[image][index] == entry.Decision)
                {
                    Decisions[image][index] = null;
                }
            }
            foreach (var (image, box, before, after) in entry.Counts)
            {
                if (after > before && _metadata[image] != entry.Metadata[image])
                {
                    // Someone else wrote the image since (a job: it writes its provenance): the box may be theirs.
                    Interlocked.Increment(ref _coverage.KeptForOthers);
                }
                else if (Count(image, box) == after)
                {
                    Labels[image].RemoveAll(b => b == box);
                    Labels[image].AddRange(Enumerable.Repeat(box, before));
                    Interlocked.Increment(ref _coverage.UndoneBoxes);
                }
                else
                {
                    Interlocked.Increment(ref _coverage.UndoSkips);
                }
            }
            return true;
        }

        /// <returns>The images refused (not in the dataset).</returns>
        public IEnumerable<string> Import(Import i)
        {
            foreach (var (image, boxes) in i.Images.Where(m => InDataset(m.Image)))
            {
                Labels[image] = boxes.Select(b => s_boxes[b]).ToList();
            }
            return i.Images.Select(m => m.Image).Where(m => !InDataset(m)).Distinct().Order(StringComparer.Ordinal);
        }

        /// <summary>The process's state is lost: the review's undo stacks. The labels are not (journaled writes included).</summary>
        public void Crash()
        {
            foreach (var stack in _undo)
            {
                stack.Clear();
            }
        }

        public void HandEdit(HandEdit h)
        {
            Interlocked.Increment(ref _coverage.HandEdits);
            foreach (var image in s_images)
            {
                _metadata[image] = ""; // the editor saves the whole file, without metadata
            }
            var labels = Labels[s_images[h.Image]];
            if (h.Add)
            {
                labels.Add(s_boxes[h.Box]); // a person may well add a box the image has already
            }
            else
            {
                labels.Remove(s_boxes[h.Box]);
            }
        }
    }

    /// <summary>The real thing: a dataset folder, its labels file and proposal set, the review's sessions.</summary>
    private sealed class Actual
    {
        private readonly string _directory;
        private DatasetReview _review;
        private readonly Coverage _coverage;

        public Actual(string root, Scenario scenario, Coverage coverage)
        {
            _coverage = coverage;
            _directory = Path.Combine(root, "dataset");
            Directory.CreateDirectory(_directory);
            foreach (var image in s_images)
            {
                File.WriteAllBytes(Path.Combine(_directory, image), [0xFF, 0xD8, 0xFF]); // never decoded here
            }
            var labels = new Dictionary<string, List<LabeledBox>>(StringComparer.Ordinal) { [Foreign] = [s_boxes[0]] };
            for (var i = 0; i < s_images.Length; i++)
            {
                labels[s_images[i]] = scenario.Initial[i].Select(b => s_boxes[b]).ToList();
            }
            WriteByHand(labels);
            new ProposalStore(_directory).Save(new ProposalSet
            {
                JobId = Set,
                CreatedUtc = DateTimeOffset.UnixEpoch,
                ModelId = "m",
                ModelType = "owlv2",
                Prompt = "cat\ndog",
                DeleteExisting = "no",
                Samples = s_images.Select((image, i) => new SampleProposal(image, [], [], new Dictionary<string, string>(),
                    scenario.Proposed[i].Select(b => new ProposedBox(s_boxes[b].Label, s_boxes[b].X, s_boxes[b].Y, s_boxes[b].Width, s_boxes[b].Height,
                        new BoxProvenance("m", 1, s_boxes[b].Label, 0.5, 0, 0.1, true, 0.3, false, 0, 0))).ToArray())).ToList(),
            });
            _review = new DatasetReview(_directory); // one page server, two tabs: sessions s_sessions
        }

        private string LabelsPath => Path.Combine(_directory, LabelsFile.FileName);

        public async Task ApplyAsync(Op op, Model model)
        {
            var ct = CancellationToken.None;
            switch (op)
            {
                case JobWrite w:
                    var boxes = w.Boxes.Select(b => s_boxes[b]).ToArray();
                    // As the writer consumer writes a sample's result.
                    var job = await new LocalDatasetBackend(_directory).UpdateLabelsAsync([LabelUpdate.MergeBoxes(w.Image, boxes, w.PromptLabels, w.Policy,
                        metadata => LabelingMetadata.Merge(metadata, "owlv2", "m", string.Join('\n', w.PromptLabels)))], ct);
                    Assert.Equal(model.JobWrite(w), job.Failed.Count == 0);
                    break;
                case Decide d:
                    var decide = _review.DecideAsync(s_sessions[d.Session],
                        d.Refs.Select(r => new ProposalRef(Set, s_images[r.Image], r.Index)).ToArray(), d.Decision, ct);
                    if (model.Decide(d) is { } decided)
                    {
                        Assert.Equal(decided.Order(StringComparer.Ordinal), (await decide).Order(StringComparer.Ordinal));
                    }
                    else
                    {
                        Assert.Contains("has no proposal", (await Assert.ThrowsAsync<DatasetException>(() => decide)).Message, StringComparison.Ordinal);
                    }
                    break;
                case Remove r:
                    var remove = _review.RemoveLabelsAsync(s_sessions[r.Session], r.Image, r.Boxes.Select(b => s_boxes[b]).ToArray(), ct);
                    if (model.Remove(r) is { } changed)
                    {
                        Assert.Equal(changed, await remove);
                    }
                    else
                    {
                        Assert.Contains("no image named", (await Assert.ThrowsAsync<DatasetException>(() => remove)).Message, StringComparison.Ordinal);
                    }
                    break;
                case Undo u:
                    var undone = await _review.UndoAsync(s_sessions[u.Session], ct);
                    Assert.Equal(model.Undo(u), undone is not null);
                    break;
                case Import i:
                    var import = await new LocalDatasetBackend(_directory).UpdateLabelsAsync(
                        i.Images.Select(m => LabelUpdate.ReplaceBoxes(m.Image, m.Boxes.Select(b => s_boxes[b]).ToArray())).ToArray(), ct);
                    Assert.Equal(model.Import(i), import.Failed.Select(f => f.SampleId).Order(StringComparer.Ordinal));
                    break;
                case HandEdit h:
                    // The editor opens the file once Owlbox has folded its journal (a job's end); a save over a file
                    // with writes still journaled is LabelJournal.Merge's, table-tested in LabelJournalTests.
                    await new LocalDatasetBackend(_directory).FlushAsync(ct);
                    model.HandEdit(h);
                    WriteByHand(model.Labels);
                    break;
                case JobEnd:
                    CountFold();
                    await new LocalDatasetBackend(_directory).FlushAsync(ct);
                    Assert.False(LabelJournal.HasPending(_directory), "the journal is still there after the job's end");
                    break;
                case Crash:
                    if (LabelJournal.HasPending(_directory))
                    {
                        Interlocked.Increment(ref _coverage.CrashesWithJournal);
                    }
                    // Killed mid-append: half a record after the complete ones, never acknowledged.
                    File.AppendAllText(LabelJournal.PathOf(_directory), "99\t0badc0de\t[{\"id\":\"a.jpg\",\"bef");
                    model.Crash();
                    _review = new DatasetReview(_directory); // the restarted page server: no undo history
                    CountFold();
                    _ = LocalDataset.Open(_directory); // the next start: recovery folds what was journaled
                    Assert.False(LabelJournal.HasPending(_directory), "the journal is still there after recovery");
                    break;
            }
        }

        /// <summary>Another program saving the file: the whole file rewritten, as an editor does.</summary>
        private void WriteByHand(Dictionary<string, List<LabeledBox>> labels)
        {
            var boxes = labels.ToDictionary(kv => kv.Key, kv => kv.Value.Select(b => new { label = b.Label, x = b.X, y = b.Y, width = b.Width, height = b.Height }));
            var text = JsonSerializer.Serialize(new { version = 1, type = "bounding-box-labels", boundingBoxes = boxes });
            File.WriteAllText(LabelsPath, text);
        }

        private void CountFold()
        {
            if (LabelJournal.HasPending(_directory))
            {
                Interlocked.Increment(ref _coverage.Folds);
            }
        }

        /// <summary>The labels as Owlbox's readers see them: the file with the journal's records applied (a job's
        /// writes not yet folded).</summary>
        public void AssertEquals(Model model)
        {
            _ = LabelsFile.Load(LabelsPath); // still a valid labels file
            using var file = JsonDocument.Parse(File.ReadAllText(LabelsPath));
            var entries = file.RootElement.GetProperty("boundingBoxes").EnumerateObject().ToDictionary(
                p => p.Name,
                p => p.Value.EnumerateArray().Select(b => new LabeledBox(b.GetProperty("label").GetString()!, b.GetProperty("x").GetInt32(),
                    b.GetProperty("y").GetInt32(), b.GetProperty("width").GetInt32(), b.GetProperty("height").GetInt32())).ToList(),
                StringComparer.Ordinal);
            var stored = LabelsFile.Read(LabelsPath, [.. entries.Keys, .. s_images]);
            foreach (var group in LabelJournal.Read(_directory, out _).SelectMany(r => r).GroupBy(r => r.Id, StringComparer.Ordinal))
            {
                entries[group.Key] = LabelJournal.View(group, stored.GetValueOrDefault(group.Key) ?? SampleLabels.Empty).Boxes.ToList();
            }
            var strays = entries.Keys.Where(k => !model.Labels.ContainsKey(k)).ToArray();
            Assert.True(strays.Length == 0, $"entries written for images not in the dataset: {string.Join(", ", strays)}");
            foreach (var (image, expected) in model.Labels)
            {
                var got = entries.GetValueOrDefault(image) ?? [];
                Assert.True(Sorted(expected).SequenceEqual(Sorted(got)), $"{image}: the file has [{Show(got)}], the model [{Show(expected)}]");
            }
            var set = new ProposalStore(_directory).Load(Set);
            for (var i = 0; i < s_images.Length; i++)
            {
                var decisions = set.Samples.Single(s => s.SampleId == s_images[i]).Detections.Select(d => d.Decision).ToArray();
                Assert.True(model.Decisions[i].SequenceEqual(decisions), $"{s_images[i]}: decisions [{string.Join(", ", decisions)}], the model [{string.Join(", ", model.Decisions[i])}]");
            }
        }
    }

    private static IEnumerable<LabeledBox> Sorted(IEnumerable<LabeledBox> boxes) => boxes.OrderBy(b => b.Label, StringComparer.Ordinal).ThenBy(b => b.X);

    private static string Show(IEnumerable<LabeledBox> boxes) => string.Join(" ", Sorted(boxes).Select(b => $"{b.Label}@{b.X}"));

    private static string Boxes(IEnumerable<int> boxes) => "[" + Show(boxes.Select(b => s_boxes[b])) + "]";

    private static string Describe(Op op) => op switch
    {
        JobWrite w => $"job writes {Boxes(w.Boxes)} to {w.Image}, delete existing {w.Policy} (prompt {string.Join("+", w.PromptLabels)})",
        Decide d => $"{s_sessions[d.Session]} {(d.Decision == ReviewDecision.Accepted ? "accepts" : "rejects")} {string.Join(", ", d.Refs.Select(r => $"{s_images[r.Image]}#{r.Index}"))}",
        Remove r => $"{s_sessions[r.Session]} removes {Boxes(r.Boxes)} from {r.Image}",
        Undo u => $"{s_sessions[u.Session]} undoes",
        Import i => $"import sets {string.Join(", ", i.Images.Select(m => $"{m.Image} to {Boxes(m.Boxes)}"))}",
        HandEdit h => $"an editor {(h.Add ? "adds" : "removes")} {Show([s_boxes[h.Box]])} {(h.Add ? "to" : "from")} {s_images[h.Image]}",
        _ => op.ToString(),
    };

    private static string Describe(Scenario s)
    {
        var text = new StringBuilder();
        for (var i = 0; i < s_images.Length; i++)
        {
            text.Append(s_images[i]).Append(": labels ").Append(Boxes(s.Initial[i])).Append(", proposals ")
                .AppendLine(string.Join(" ", s.Proposed[i].Select((b, k) => $"#{k}={Show([s_boxes[b]])}")));
        }
        for (var i = 0; i < s.Ops.Length; i++)
        {
            text.Append(i + 1).Append(". ").AppendLine(Describe(s.Ops[i]));
        }
        return text.ToString();
    }
}
