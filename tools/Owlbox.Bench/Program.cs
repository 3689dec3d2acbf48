using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.ML.OnnxRuntime;
using Owlbox.Contracts.V1;
using Owlbox.Detection.Imaging;
using Owlbox.Detection.Inference;
using Owlbox.ModelPreparation;
using Owlbox.Models;
using Owlbox.Gateway;
using Owlbox.Hosting;
using Owlbox.Jobs;
using Owlbox.ModelTool;
using DataType = Onnx.TensorProto.Types.DataType;
using SkiaSharp;

// owlbox-bench [--model owlvit-base-patch32|owlv2-base-patch16] [--images 24] [--threads N] [--runs 5] [--skip-tjs]
//              [--reprompt-processes 200 [--model-dir DIR]]   (two `owlbox label` processes: encode, then a new prompt from
//                                            the disk cache; --model-dir: a prepared export, e.g. .cache/published/<model>
//                                            after --published --hf-trace)
//              [--example-processes 200 [--rounds 3] [--model-dir DIR]]   (`owlbox label` processes: an example line
//                                            ([example]) from the disk cache vs afresh, and a cached text job with and
//                                            without it, side by side in rounds, medians)
//              [--bare dir1,dir2 [--variant quantized]]   (bare sessions of model folders, alternating)
//              [--gpu]   (a CUDA machine: tools/gpu-bench.sh)
//              [--coco-scale --owlbox owlbox.dll [--images 100000] [--annotations 1000000]]   (COCO import/export peak RSS)
//              [--scale 10000,100000]   (labels files of N samples: a 100-image job's time and peak RSS, review state and
//                                        accept shown over 1,000 boxes; issue 27)
//              [--review-scale 10000,1000000 [--links 100000]]   (the same labels files, review only: first page,
//                                        accept shown over 1,000 boxes, the page after; --links: that many more images,
//                                        hard links to the 100, to measure listing a large folder)
//              [--published [--hf-trace]]   (`owlbox label` on the export as published, then after `owlbox models prepare`, vs
//                                            transformers.js; --hf-trace: on a graph traced as HF's forward is, HfOwlExport)
var model = Arg("--model") ?? "owlvit-base-patch32";
var imageCount = int.Parse(Arg("--images") ?? "24", CultureInfo.InvariantCulture);
var threads = int.Parse(Arg("--threads") ?? Environment.ProcessorCount.ToString(CultureInfo.InvariantCulture), CultureInfo.InvariantCulture);
var runs = int.Parse(Arg("--runs") ?? "5", CultureInfo.InvariantCulture);
var root = RepoPaths.Root;
var cache = Path.Combine(root, ".cache");
var modelDir = Path.Combine(cache, "models", model);
if (args.Contains("--coco-scale"))
{
    return Owlbox.Bench.CocoScaleBench.Run(args); // CocoScaleBench.cs: COCO import/export at 10^6 annotations
}
if (Arg("--review-scale") is { } reviewSizes)
{
    return await ReviewScaleAsync(root, reviewSizes.Split(',').Select(x => int.Parse(x, CultureInfo.InvariantCulture)).ToArray(),
        int.Parse(Arg("--links") ?? "0", CultureInfo.InvariantCulture));
}
if (Arg("--scale") is { } scaleSizes)
{
    return await ScaleAsync(root, scaleSizes.Split(',').Select(x => int.Parse(x, CultureInfo.InvariantCulture)).ToArray());
}
if (args.Contains("--prep-only"))
{
    Console.WriteLine($"Decode + preprocess, one thread: {PreprocessMilliseconds(modelDir, MakeImages(Path.Combine(cache, "bench", $"images-{imageCount}"), imageCount)):0.0} ms per image");
    return 0;
}
if (!FullSizeModels.IsCurrent(modelDir))
{
    Console.WriteLine($"generating {model} (random weights, real layer sizes) in {modelDir} ...");
    FullSizeModels.Write(model, modelDir);
}
var arch = model.StartsWith("owlv2", StringComparison.Ordinal) ? OwlArchitecture.Owlv2B16 : OwlArchitecture.OwlVitB32;
var images = MakeImages(Path.Combine(cache, "bench", $"images-{imageCount}"), imageCount);
string[] allQueries = ["red", "a blue car", "green block", "yellow thing", "a person", "coffee cup", "white square", "orange ball", "purple flower", "magenta sign"];

if (Arg("--memory-child") is { } childImages)
{
    return await MemoryChildAsync(int.Parse(childImages, CultureInfo.InvariantCulture), threads);
}
if (Arg("--memory") is { } sizes)
{
    // Peak memory against job size: each job in a fresh process, so each peak is that job's alone.
    Console.WriteLine($"Peak memory of a one-process job against its size (test model owlvit-test, samples/prompt.txt, 320x240 JPEGs, {threads} threads):");
    Console.WriteLine("images | seconds | images/s | peak RSS MB | largest GC heap seen MB");
    var peaks = new List<double>();
    foreach (var n in sizes.Split(',').Select(x => int.Parse(x, CultureInfo.InvariantCulture)))
    {
        var line = Exec("dotnet", [Path.Combine(AppContext.BaseDirectory, "owlbox-bench.dll"), "--memory-child", n.ToString(CultureInfo.InvariantCulture), "--threads", threads.ToString(CultureInfo.InvariantCulture)], null)
            .Split('\n').Last(l => l.StartsWith("memory ", StringComparison.Ordinal)).Split(' ');
        var (seconds, peakMb, heapMb) = (double.Parse(line[2], CultureInfo.InvariantCulture), double.Parse(line[3], CultureInfo.InvariantCulture), double.Parse(line[4], CultureInfo.InvariantCulture));
        peaks.Add(peakMb);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{n,6} | {seconds,7:0.0} | {n / seconds,8:0.0} | {peakMb,11:0} | {heapMb,23:0}"));
    }
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"largest / smallest job's peak: {peaks[^1] / peaks[0]:0.00}"));
    return 0;
}
if (Arg("--reprompt-processes") is { } repromptCount)
{
    // What a user runs: `owlbox label` on a dataset, then again in a new process with a new 10-line prompt; the second
    // reads the first's image encodings from <dataset>/.owlbox/embeddings. Rates are the CLI's own (the job, model
    // loading excluded); wall seconds include the process start and the model load.
    var n = int.Parse(repromptCount, CultureInfo.InvariantCulture);
    var owlbox = OwlboxExecutable(root);
    var repromptModel = Arg("--model-dir") is { } given ? Path.GetFullPath(given) : modelDir;
    var dataset = Path.Combine(Path.GetTempPath(), $"owlbox-reprompt-{Environment.ProcessId}");
    Directory.CreateDirectory(dataset);
    foreach (var f in Directory.GetFiles(MakeImages(Path.Combine(cache, "bench", $"images-{n}"), n)))
    {
        File.Copy(f, Path.Combine(dataset, Path.GetFileName(f)), overwrite: true);
    }
    string[] secondQueries = ["a dog", "traffic light", "a red car", "bicycle", "green bottle", "a chair", "laptop", "black cat", "blue sky", "a tree"];
    (double Wall, double Rate, string Line) Label(string[] queries)
    {
        var started = Stopwatch.GetTimestamp();
        var output = Exec("dotnet", [owlbox, "label", dataset, "--model", repromptModel, "--threads", threads.ToString(CultureInfo.InvariantCulture),
            "--prompt", string.Join("\n", queries.Select(q => $"{q} ({q}, 0.3)"))], null);
        var wall = Stopwatch.GetElapsedTime(started).TotalSeconds;
        var line = output.Split('\n').LastOrDefault(l => l.StartsWith("Labeled ", StringComparison.Ordinal)) ?? throw new InvalidOperationException(output);
        // From the job's seconds, not its printed rate (one decimal: 0.3 img/s could be 0.25 or 0.35).
        var seconds = double.Parse(System.Text.RegularExpressions.Regex.Match(line, @" in ([0-9.]+) s \(").Groups[1].Value, CultureInfo.InvariantCulture);
        return (wall, n / seconds, line.Trim());
    }
    Console.WriteLine($"Re-prompt across processes: {repromptModel} (split form), {n} images, 10 queries, {threads} threads, {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC");
    var first = Label(allQueries);
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"first process (encodes, writes .owlbox/embeddings): {first.Rate:0.000} img/s, {first.Wall:0.0} s wall | {first.Line}"));
    var second = Label(secondQueries);
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"second process, new prompt (reads them):            {second.Rate:0.0} img/s, {second.Wall:0.0} s wall | {second.Line}"));
    var embeddings = Directory.GetFiles(Path.Combine(dataset, ".owlbox", "embeddings"), "*.emb", SearchOption.AllDirectories);
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"re-prompt / fresh: {second.Rate / first.Rate:0}x by the CLI's rate, {first.Wall / second.Wall:0.0}x by wall time; {embeddings.Length} encodings, {embeddings.Sum(f => new FileInfo(f).Length) / 1e6:0} MB on disk"));
    Directory.Delete(dataset, recursive: true);
    return 0;
}
if (Arg("--example-processes") is { } exampleCount)
{
    // What a user runs to find more like their own boxes: three hand boxes labelled `example` in the labels file, the
    // dataset labelled once (its encodings in <dataset>/.owlbox/embeddings), then, each in a new process, side by side
    // in rounds (the machine may be loaded; medians are reported): `[example] (found, 0.3)` detected afresh
    // (--no-embedding-cache) and from the cache, and the 10-line text job from the cache without and with that example
    // line (the cost of adding examples). The labels file is put back before every run, so each run is the same job.
    var n = int.Parse(exampleCount, CultureInfo.InvariantCulture);
    var rounds = int.Parse(Arg("--rounds") ?? "3", CultureInfo.InvariantCulture);
    var owlbox = OwlboxExecutable(root);
    var exampleModel = Arg("--model-dir") is { } given ? Path.GetFullPath(given) : modelDir;
    var dataset = Path.Combine(Path.GetTempPath(), $"owlbox-examples-{Environment.ProcessId}");
    Directory.CreateDirectory(dataset);
    var files = Directory.GetFiles(MakeImages(Path.Combine(cache, "bench", $"images-{n}"), n)).Order(StringComparer.Ordinal).ToArray();
    foreach (var f in files)
    {
        File.Copy(f, Path.Combine(dataset, Path.GetFileName(f)), overwrite: true);
    }
    // The hand boxes: the middle half of the first three images (larger than a patch on any of the bench's sizes).
    var hand = new System.Text.Json.Nodes.JsonObject();
    foreach (var f in files.Take(3))
    {
        using var codec = SKCodec.Create(f);
        var (w, h) = (codec.Info.Width, codec.Info.Height);
        hand[Path.GetFileName(f)] = new System.Text.Json.Nodes.JsonArray(new System.Text.Json.Nodes.JsonObject { ["label"] = "example", ["x"] = w / 4, ["y"] = h / 4, ["width"] = w / 2, ["height"] = h / 2 });
    }
    var labelsPath = Path.Combine(dataset, "bounding_boxes.labels");
    var handLabels = new System.Text.Json.Nodes.JsonObject { ["version"] = 1, ["type"] = "bounding-box-labels", ["boundingBoxes"] = hand }.ToJsonString();
    const string exampleLine = "[example] (found, 0.3)";
    var textLines = allQueries.Select(q => $"{q} ({q}, 0.3)").ToArray();
    (double Wall, double Seconds, string Line) Label(string prompt, bool fresh, bool writeNothing = false)
    {
        File.WriteAllText(labelsPath, handLabels);
        string[] extra = [.. fresh ? ["--no-embedding-cache"] : Array.Empty<string>(), .. writeNothing ? ["--ignore-objects-smaller-than", "100"] : Array.Empty<string>()];
        var started = Stopwatch.GetTimestamp();
        var output = Exec("dotnet", [owlbox, "label", dataset, "--model", exampleModel, "--threads", threads.ToString(CultureInfo.InvariantCulture), .. extra, "--prompt", prompt], null);
        var wall = Stopwatch.GetElapsedTime(started).TotalSeconds;
        var line = output.Split('\n').LastOrDefault(l => l.StartsWith("Labeled ", StringComparison.Ordinal)) ?? throw new InvalidOperationException(output);
        if (!line.StartsWith($"Labeled {n} of {n} ", StringComparison.Ordinal))
        {
            throw new InvalidOperationException("not every image was labelled: " + line);
        }
        var seconds = double.Parse(System.Text.RegularExpressions.Regex.Match(line, @" in ([0-9.]+) s \(").Groups[1].Value, CultureInfo.InvariantCulture);
        return (wall, seconds, line.Trim());
    }
    Console.WriteLine($"Example queries across processes: {exampleModel} (split form), {n} images, 3 example boxes, {threads} threads, {rounds} rounds, {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC");
    var filled = Label(string.Join("\n", textLines), fresh: false);
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"fill the cache (10-line text job): {n / filled.Seconds:0.000} img/s, {filled.Wall:0.0} s wall | {filled.Line}"));
    // Random weights: the example's patch scores above any threshold on most patches of every image (~570 boxes per
    // image written), so the cached job is mostly the write. The last side filters every box out before the write
    // (--ignore-objects-smaller-than 100): the query's own cost, the class head and the filter.
    (string Name, string Prompt, bool Fresh, bool WriteNothing)[] sides =
    [
        ("example line, detected afresh", exampleLine, true, false),
        ("example line, from the cache", exampleLine, false, false),
        ("10 text lines, from the cache", string.Join("\n", textLines), false, false),
        ("10 text lines + example line, from the cache", string.Join("\n", [.. textLines, exampleLine]), false, false),
        ("example line, from the cache, no box written", exampleLine, false, true),
    ];
    var results = sides.Select(_ => new List<(double Wall, double Seconds)>()).ToArray();
    for (var r = 0; r < rounds; r++)
    {
        for (var s = 0; s < sides.Length; s++)
        {
            var (wall, seconds, line) = Label(sides[s].Prompt, sides[s].Fresh, sides[s].WriteNothing);
            results[s].Add((wall, seconds));
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  round {r + 1}, {sides[s].Name}: job {seconds:0.00} s ({n / seconds:0.0} img/s), {wall:0.00} s wall | {line}"));
        }
    }
    static double Median(IEnumerable<double> xs)
    {
        var sorted = xs.Order().ToArray();
        return sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[(sorted.Length / 2) - 1] + sorted[sorted.Length / 2]) / 2;
    }
    var medians = results.Select(x => (Job: Median(x.Select(y => y.Seconds)), Wall: Median(x.Select(y => y.Wall)))).ToArray();
    Console.WriteLine("side | median job s | img/s | median wall s");
    for (var s = 0; s < sides.Length; s++)
    {
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{sides[s].Name} | {medians[s].Job:0.00} | {n / medians[s].Job:0.0} | {medians[s].Wall:0.00}"));
    }
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"example query from the cache / afresh: {medians[0].Job / medians[1].Job:0}x by the CLI's rate, {medians[0].Wall / medians[1].Wall:0.0}x by wall time; no box written: {medians[0].Job / medians[4].Job:0}x, {medians[0].Wall / medians[4].Wall:0.0}x"));
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"adding the example line to the cached 10-line job: {medians[3].Job - medians[2].Job:+0.00;-0.00} s job ({medians[3].Job / medians[2].Job:0.00}x), {medians[3].Wall - medians[2].Wall:+0.00;-0.00} s wall ({medians[3].Wall / medians[2].Wall:0.00}x)"));
    Directory.Delete(dataset, recursive: true);
    return 0;
}
if (args.Contains("--published"))
{
    // What a user runs on a downloaded export: `owlbox label` (a process of its own, as typed) on the single graph as
    // published, then on what `owlbox models prepare` writes beside it, fp32 and int8, 1 and 10 queries, against
    // transformers.js on the same files. Rates are steady state on both sides (below); peak memory is each process's
    // own VmHWM.
    var owlbox = OwlboxExecutable(root);
    // --hf-trace: the export as torch.onnx/optimum trace HF's ForObjectDetection (HfOwlExport, full size: text reshape
    // by the feature map's batch, second query norm, query mask, optimum's names), int8 by the product's quantizer.
    var sourceDir = modelDir;
    if (args.Contains("--hf-trace"))
    {
        sourceDir = Path.Combine(cache, "models", model + "-hf-trace");
        if (!File.Exists(Path.Combine(sourceDir, "onnx", "model_quantized.onnx")))
        {
            Console.WriteLine($"generating {model} traced as HF exports are (full size) in {sourceDir} ...");
            HfOwlExport.Write(sourceDir, new HfExportOptions { ModelType = arch.ModelType, FullSize = true, ObjectnessOutput = false });
            var traced = Onnx.ModelProto.Parser.ParseFrom(File.ReadAllBytes(Path.Combine(sourceDir, "onnx", "model.onnx")));
            using var quantized = File.Create(Path.Combine(sourceDir, "onnx", "model_quantized.onnx"));
            Google.Protobuf.MessageExtensions.WriteTo(Owlbox.ModelPreparation.DynamicQuantizer.Apply(traced), quantized);
        }
    }
    else if (!File.Exists(Path.Combine(modelDir, "onnx", "model_quantized.onnx")))
    {
        FullSizeModels.WriteQuantized(arch, modelDir);
    }
    var published = Path.Combine(cache, "published", model);
    if (Directory.Exists(published))
    {
        Directory.Delete(published, recursive: true);
    }
    Directory.CreateDirectory(Path.Combine(published, "onnx"));
    foreach (var f in Directory.GetFiles(sourceDir))
    {
        File.Copy(f, Path.Combine(published, Path.GetFileName(f)));
    }
    foreach (var name in new[] { "model.onnx", "model_quantized.onnx" })
    {
        File.Copy(Path.Combine(sourceDir, "onnx", name), Path.Combine(published, "onnx", name)); // as downloaded: these two only
    }
    Console.WriteLine($"Published layout vs `owlbox models prepare`: {model}, {imageCount} images, {threads} threads, {Environment.ProcessorCount} cores, {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC");
    (double Seconds, double PeakMb) Job(string variant, string[] queries, int count)
    {
        var dataset = Path.Combine(Path.GetTempPath(), $"owlbox-published-{Environment.ProcessId}");
        if (Directory.Exists(dataset))
        {
            Directory.Delete(dataset, recursive: true);
        }
        Directory.CreateDirectory(dataset);
        foreach (var f in Directory.GetFiles(images).Order(StringComparer.Ordinal).Take(count))
        {
            File.Copy(f, Path.Combine(dataset, Path.GetFileName(f)));
        }
        var (output, peakMb) = ExecMeasured("dotnet", [owlbox, "label", dataset, "--model", published, "--model-variant", variant, "--threads", threads.ToString(CultureInfo.InvariantCulture),
            "--no-embedding-cache", "--prompt", string.Join("\n", queries.Select(q => $"{q} ({q}, 0.1)"))]);
        Directory.Delete(dataset, recursive: true);
        var line = output.Split('\n').LastOrDefault(l => l.StartsWith("Labeled ", StringComparison.Ordinal)) ?? throw new InvalidOperationException(output);
        return (double.Parse(System.Text.RegularExpressions.Regex.Match(line, @" in ([0-9.]+) s \(").Groups[1].Value, CultureInfo.InvariantCulture), peakMb);
    }
    // Steady state with start-up excluded, as transformers.js's side is measured after a warm-up image: the images a
    // whole job labels beyond a short one, over the seconds it takes beyond it (the job's fixed costs, its session's
    // first runs and its last writes, cancel out). The whole job's own rate is printed beside it.
    var shortJob = Math.Max(4, imageCount / 3);
    (double Rate, double JobRate, double PeakMb) Label(string variant, string[] queries)
    {
        var (shortSeconds, _) = Job(variant, queries, shortJob);
        var (seconds, peakMb) = Job(variant, queries, imageCount);
        return ((imageCount - shortJob) / (seconds - shortSeconds), imageCount / seconds, peakMb);
    }
    var rows = new List<(string Form, string Variant, int Queries, double Rate, double JobRate, double PeakMb)>();
    void Measure(string form)
    {
        foreach (var variant in new[] { "model", "quantized" })
        {
            foreach (var q in new[] { 1, 10 })
            {
                var (rate, jobRate, peakMb) = Label(variant, allQueries[..q]);
                rows.Add((form, variant, q, rate, jobRate, peakMb));
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  {form,-10} {(variant == "model" ? "fp32" : "int8"),-5} {q,2} queries: {rate:0.000} img/s steady ({jobRate:0.000} over the whole job), peak {peakMb:0} MB"));
            }
        }
    }
    Measure("published");
    var (prepareOutput, preparePeak) = ExecMeasured("dotnet", [owlbox, "models", "prepare", published]);
    Console.WriteLine($"  owlbox models prepare: peak {preparePeak:0} MB");
    foreach (var line in prepareOutput.Split('\n').Where(l => l.StartsWith("Wrote", StringComparison.Ordinal) || l.StartsWith("Image encoder attention", StringComparison.Ordinal)))
    {
        Console.WriteLine("    " + line.Trim());
    }
    Measure("prepared");
    var tjsRates = new Dictionary<(string, int), (double Rate, double RssMb)?>();
    foreach (var dtype in new[] { "fp32", "q8" })
    {
        foreach (var q in new[] { 1, 10 })
        {
            var t = args.Contains("--skip-tjs") ? null : TransformersJs(Path.Combine(cache, "published"), model, images, allQueries[..q], threads, root, dtype);
            tjsRates[(dtype, q)] = t;
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  transformers.js {dtype,-4} {q,2} queries: {(t is { } x ? $"{x.Rate:0.000} img/s, peak {x.RssMb:0} MB" : "-")}"));
        }
    }
    Console.WriteLine();
    Console.WriteLine("| form | dtype | queries | Owlbox img/s (whole job) | peak MB | transformers.js img/s | tjs peak MB | Owlbox/tjs | vs published |");
    Console.WriteLine("|---|---|---|---|---|---|---|---|---|");
    foreach (var r in rows)
    {
        var t = tjsRates[(r.Variant == "model" ? "fp32" : "q8", r.Queries)];
        var before = rows.First(x => x.Form == "published" && x.Variant == r.Variant && x.Queries == r.Queries).Rate;
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"| {r.Form} | {(r.Variant == "model" ? "fp32" : "int8")} | {r.Queries} | {r.Rate:0.000} ({r.JobRate:0.000}) | {r.PeakMb:0} | {(t is { } a ? a.Rate.ToString("0.000", CultureInfo.InvariantCulture) : "-")} | {(t is { } b ? b.RssMb.ToString("0", CultureInfo.InvariantCulture) : "-")} | {(t is { } c ? (r.Rate / c.Rate).ToString("0.00", CultureInfo.InvariantCulture) : "-")} | {r.Rate / before:0.00}x |"));
    }
    var fp32Prepared10 = rows.First(r => r.Form == "prepared" && r.Variant == "model" && r.Queries == 10).Rate;
    var int8Prepared10 = rows.First(r => r.Form == "prepared" && r.Variant == "quantized" && r.Queries == 10).Rate;
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"int8 prepared / fp32 prepared, 10 queries: {int8Prepared10 / fp32Prepared10:0.00}x"));
    return 0;
}
if (Arg("--bare") is { } bareDirs)
{
    // The bare session (as the detector runs it: same options, same concurrent runs) of each model folder, alternating.
    for (var round = 0; round < runs; round++)
    {
        foreach (var dir in bareDirs.Split(','))
        {
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"bare {dir} ({Arg("--variant") ?? "model"}): {BareRate(dir, images, allQueries, threads, 3, Arg("--variant") ?? "model"):0.000} img/s"));
        }
    }
    return 0;
}
if (args.Contains("--gpu"))
{
    // The device rows (tools/gpu-bench.sh builds with the GPU ONNX Runtime and runs this): for OWL-ViT B/32 and OWLv2
    // B/16, fp32 and fp16, the image encoder at 1, 8, 32 and 64 images per run: bare (EncodeBatch on one
    // preprocessed image, repeated; class head and filters excluded) and end to end (the one-process mode labeling 200
    // images: decode on the CPU cores, runs of N on the device, 10 queries).
    Console.WriteLine($"Owlbox GPU benchmark, {Environment.ProcessorCount} cores, {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC");
    Console.WriteLine("model | dtype | images per run | bare img/s | e2e img/s (200 images, 10 queries)");
    foreach (var name in new[] { "owlvit-base-patch32", "owlv2-base-patch16" })
    {
        var dir = Path.Combine(cache, "models", name);
        if (!FullSizeModels.IsCurrent(dir))
        {
            FullSizeModels.Write(name, dir);
        }
        foreach (var part in new[] { "image_encoder", "text_encoder" })
        {
            var fp16 = Path.Combine(dir, "onnx", part + "_fp16.onnx");
            if (!File.Exists(fp16))
            {
                var proto = Onnx.ModelProto.Parser.ParseFrom(File.ReadAllBytes(Path.Combine(dir, "onnx", part + ".onnx")));
                File.WriteAllBytes(fp16, Google.Protobuf.MessageExtensions.ToByteArray(Owlbox.ModelPreparation.Float16Converter.Apply(proto)));
            }
        }
        var gpuImages = MakeImages(Path.Combine(cache, "bench", "images-200"), 200);
        foreach (var variant in new[] { "model", "fp16" })
        {
            foreach (var perRun in new[] { 1, 8, 32, 64 })
            {
                var engine = new DetectorOptions { ExecutionProvider = "cuda", ImageBatchSize = perRun };
                var bare = GpuBare(dir, variant, gpuImages, engine);
                var (e2e, _) = await EndToEndAsync(dir, gpuImages, allQueries, Environment.ProcessorCount, null, variant, engine);
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{name} | {(variant == "model" ? "fp32" : "fp16")} | {perRun} | {bare:0.0} | {e2e:0.0}"));
            }
        }
    }
    return 0;
}
if (Arg("--e2e-only") is { } reps)
{
    for (var i = 0; i < int.Parse(reps, CultureInfo.InvariantCulture); i++)
    {
        Console.WriteLine($"e2e {(await EndToEndAsync(modelDir, images, allQueries, threads, null)).Fresh:0.000} img/s; bare {BareRate(modelDir, images, allQueries, threads, runs):0.000}");
    }
    return 0;
}
Console.WriteLine($"Owlbox benchmark: {model} ({arch.VisionGigaMacs * 2:0} GFLOP per image, vision tower), {imageCount} images " +
    $"(mixed sizes, JPEG and PNG), {threads} threads, {Environment.ProcessorCount} cores, {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC");
var peak = MatMulPeak(threads);
Console.WriteLine($"MatMul peak (2048^3 through ONNX Runtime, the better of one run on {threads} threads and {threads} single-threaded runs at once): {peak:0.0} GFLOP/s");
Console.WriteLine($"Decode + preprocess, one thread: {PreprocessMilliseconds(modelDir, images):0.0} ms per image (mean over the set)");
Console.WriteLine();
Console.WriteLine("queries | Owlbox e2e img/s | bare model img/s | e2e/bare | vision GFLOP/s | utilisation | transformers.js img/s | Owlbox/tjs | Owlbox RSS MB | tjs RSS MB");
var fp32At10 = (E2e: 0.0, Bare: 0.0, Tjs: (double?)null);
foreach (var q in new[] { 1, 10 })
{
    var queries = allQueries[..q];
    PeakRss.Reset(); // the e2e job's own peak, not the model generation's or an earlier bare session's
    var (e2e, reprompt) = await EndToEndAsync(modelDir, images, queries, threads, q == 10 ? allQueries.Reverse().Select(x => x + " object").ToArray() : null);
    var rss = PeakRss.Megabytes();
    var bare = BareRate(modelDir, images, queries, threads, runs);
    var gflops = bare * arch.VisionGigaMacs * 2;
    var tjs = args.Contains("--skip-tjs") ? null : TransformersJs(Path.Combine(cache, "models"), model, images, queries, threads, root);
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
        $"{q,7} | {e2e,16:0.000} | {bare,16:0.000} | {e2e / bare,8:0.00} | {gflops,14:0.0} | {gflops / peak,11:0.00} | " +
        $"{(tjs is null ? "-" : tjs.Value.Rate.ToString("0.000", CultureInfo.InvariantCulture)),21} | " +
        $"{(tjs is null ? "-" : (e2e / tjs.Value.Rate).ToString("0.00", CultureInfo.InvariantCulture)),10} | {rss,13:0} | " +
        $"{(tjs is null ? "-" : tjs.Value.RssMb.ToString("0", CultureInfo.InvariantCulture)),10}"));
    if (q == 10)
    {
        fp32At10 = (e2e, bare, tjs?.Rate);
    }
    if (q == 10 && RepromptEngine(modelDir, images, threads, [.. allQueries.Reverse().Select(x => x + " object")]) is { } engine)
    {
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"  engine only, 200 images, new 10-line prompt: fresh (encode + class head + filter) {engine.Fresh:0.00} img/s, from cached encodings {engine.Cached:0.0} img/s = {engine.Cached / engine.Fresh:0}x"));
    }
    if (reprompt is { } r)
    {
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"  re-prompt of the same {imageCount} images with a new 10-line prompt (split form, cached encodings): {r:0.0} img/s = {r / e2e:0.0}x detecting them afresh"));
    }
}

// ---- int8: the published model_quantized.onnx (and its split form), same weights dynamically quantized ----
if (!File.Exists(Path.Combine(modelDir, "onnx", "model_quantized.onnx")))
{
    Console.WriteLine("(writing the int8 variant ...)");
    FullSizeModels.WriteQuantized(arch, modelDir);
}
Console.WriteLine();
var int8E2e = (await EndToEndAsync(modelDir, images, allQueries, threads, null, "quantized")).Fresh;
var int8Bare = BareRate(modelDir, images, allQueries, threads, runs, "quantized");
var int8Tjs = args.Contains("--skip-tjs") ? null : TransformersJs(Path.Combine(cache, "models"), model, images, allQueries, threads, root, "q8");
var int8Line = string.Create(CultureInfo.InvariantCulture,
    $"int8, 10 queries: Owlbox e2e {int8E2e:0.000} img/s = {int8E2e / fp32At10.E2e:0.00}x fp32 e2e; bare {int8Bare:0.000} img/s = {int8Bare / fp32At10.Bare:0.00}x fp32 bare");
if (int8Tjs is { } t8)
{
    int8Line += string.Create(CultureInfo.InvariantCulture, $"; transformers.js q8 {t8.Rate:0.000} img/s, Owlbox/tjs {int8E2e / t8.Rate:0.00}");
}
Console.WriteLine(int8Line);
Console.WriteLine($"  boxes int8 vs fp32, {model}, {imageCount} images x 10 queries: {Int8Drift(modelDir, images, allQueries, threads)}");
var testModel = Path.Combine(cache, "models", "owlvit-test-int8");
if (!File.Exists(Path.Combine(testModel, "onnx", "model_quantized.onnx")))
{
    TestModels.Write(testModel, "owlvit", 768);
    TestModels.WriteQuantized(testModel, 768);
}
var shapes = Path.Combine(root, "samples", "shapes");
Console.WriteLine($"  boxes int8 vs fp32, test model (owlvit-test, samples/shapes, samples/prompt.txt): " +
    Int8Drift(testModel, shapes, [.. File.ReadAllLines(Path.Combine(root, "samples", "prompt.txt")).Where(l => l.Trim().Length > 0)], threads));
return 0;

static Owlbox.Labeling.Filtering.DetectionDrift Int8Drift(string modelDir, string imagesDir, string[] promptLines, int threads)
{
    var options = new DetectorOptions { ExecutionProvider = "cpu", Threads = threads, ConcurrentRuns = 1 }; // one image at a time, all threads
    using var fp32 = new OwlDetector(ModelDirectory.Load(modelDir), options);
    using var int8 = new OwlDetector(ModelDirectory.Load(modelDir, "quantized"), options);
    var prompt = Owlbox.Labeling.Prompts.LabelingPrompt.Parse(string.Join('\n', promptLines));
    var labeling = new Owlbox.Labeling.LabelingOptions();
    var (pa, pb) = (DetectionPlan.Create(fp32, prompt, labeling), DetectionPlan.Create(int8, prompt, labeling));
    var total = Owlbox.Labeling.Filtering.DetectionDrift.Empty;
    foreach (var file in Directory.GetFiles(imagesDir).Where(f => f.EndsWith(".jpg", StringComparison.Ordinal) || f.EndsWith(".png", StringComparison.Ordinal)).Order(StringComparer.Ordinal))
    {
        var bytes = File.ReadAllBytes(file);
        total = total.Add(Owlbox.Labeling.Filtering.DetectionDrift.Compare(
            DetectionEngine.Detect(pa, bytes).Result.Kept, DetectionEngine.Detect(pb, bytes).Result.Kept));
    }
    return total;
}

string? Arg(string name) => Array.IndexOf(args, name) is var i and >= 0 && i + 1 < args.Length ? args[i + 1] : null;

static double MatMulPeak(int threads)
{
    const int n = 2048;
    var g = new OnnxGraph("matmul");
    var a = g.Input("a", DataType.Float, n, n);
    var b = g.Input("b", DataType.Float, n, n);
    g.Output(g.Node("MatMul", [a, b]), "c", DataType.Float, n, n);
    return Math.Max(MatMulRate(g.ToModelBytes(), n, threads, 1), MatMulRate(g.ToModelBytes(), n, 1, threads));
}

/// <summary>GFLOP/s of <paramref name="concurrent"/> simultaneous runs of an n³ MatMul, each on <paramref name="intraOp"/> threads.</summary>
static double MatMulRate(byte[] model, int n, int intraOp, int concurrent)
{
    using var options = new SessionOptions { IntraOpNumThreads = intraOp };
    using var session = new InferenceSession(model, options);
    var data = new float[n * n];
    for (var i = 0; i < data.Length; i++)
    {
        data[i] = (i % 7) * 0.01f;
    }
    using var va = OrtValue.CreateTensorValueFromMemory(data, [n, n]);
    using var vb = OrtValue.CreateTensorValueFromMemory(data, [n, n]);
    using var runOptions = new RunOptions();
    void Run()
    {
        using var r = session.Run(runOptions, ["a", "b"], [va, vb], ["c"]);
    }
    Run();
    // Best of three rounds: a neighbour's burst on a shared machine should not set the ceiling.
    var best = 0.0;
    for (var round = 0; round < 3; round++)
    {
        var sw = Stopwatch.StartNew();
        const int reps = 5;
        Parallel.For(0, concurrent, new ParallelOptions { MaxDegreeOfParallelism = concurrent }, _ =>
        {
            for (var i = 0; i < reps; i++)
            {
                Run();
            }
        });
        best = Math.Max(best, concurrent * reps * 2.0 * n * n * n / sw.Elapsed.TotalSeconds / 1e9);
    }
    return best;
}

static double PreprocessMilliseconds(string modelDir, string imagesDir)
{
    var pre = new ImagePreprocessor(ModelDirectory.Load(modelDir));
    var files = Directory.GetFiles(imagesDir).Select(File.ReadAllBytes).ToArray();
    ImageDetection.Prepare(files[0], pre, new DecodeLimits());
    var sw = Stopwatch.StartNew();
    foreach (var f in files)
    {
        ImageDetection.Prepare(f, pre, new DecodeLimits());
    }
    return sw.Elapsed.TotalMilliseconds / files.Length;
}

static (double Fresh, double Cached)? RepromptEngine(string modelDir, string imagesDir, int threads, string[] prompt)
{
    var detectorOptions = new DetectorOptions { ExecutionProvider = "cpu", Threads = threads };
    using var detector = new OwlDetector(ModelDirectory.Load(modelDir), detectorOptions);
    if (!detector.Model.IsSplit)
    {
        return null;
    }
    using var workers = new InferenceWorkers(detectorOptions.EffectiveConcurrentRuns(Environment.ProcessorCount));
    var parsed = Owlbox.Labeling.Prompts.LabelingPrompt.Parse(string.Join('\n', prompt));
    var queries = detector.PrepareQueries(prompt);
    var options = new Owlbox.Labeling.LabelingOptions();
    var image = ImageDetection.Prepare(File.ReadAllBytes(Directory.GetFiles(imagesDir).Order(StringComparer.Ordinal).First()),
        new ImagePreprocessor(detector.Model), new DecodeLimits());
    var encoded = detector.EncodeImages(image.Pixels); // warm-up
    // Fresh: as the detector runs images (concurrent runs on the inference workers), every worker busy to the end.
    var freshRuns = 2 * workers.Count;
    var sw = Stopwatch.StartNew();
    Task.WhenAll(Enumerable.Range(0, freshRuns).Select(_ => workers.RunAsync(() =>
    {
        var e = detector.EncodeImages(image.Pixels);
        using var output = OwlDetector.Score(e.Boxes, e.Features, queries);
        return ImageDetection.Filter(detector, output, image.Width, image.Height, parsed.Lines, options);
    }))).Wait();
    var fresh = freshRuns / sw.Elapsed.TotalSeconds;
    var cached = new CachedImage(image.Width, image.Height, encoded.Boxes, encoded.Features);
    sw.Restart();
    const int cachedImages = 200;
    for (var i = 0; i < cachedImages; i++)
    {
        using var output = OwlDetector.Score(cached, queries);
        ImageDetection.Filter(detector, output, image.Width, image.Height, parsed.Lines, options);
    }
    return (fresh, cachedImages / sw.Elapsed.TotalSeconds);
}

/// <summary>The image encoder alone on the device: runs of <c>ImageBatchSize</c> copies of one preprocessed image
/// through the bound buffers, for at least 256 images and 5 s after a warm-up run.</summary>
static double GpuBare(string modelDir, string variant, string imagesDir, DetectorOptions options)
{
    using var detector = new OwlDetector(ModelDirectory.Load(modelDir, variant), options);
    if (detector.ExecutionProvider != "CUDA")
    {
        throw new InvalidOperationException("the CUDA execution provider did not load: build with -p:OnnxRuntimeFlavor=Gpu on a machine with CUDA and cuDNN");
    }
    using var prepared = ImageDetection.Prepare(File.ReadAllBytes(Directory.GetFiles(imagesDir).Order(StringComparer.Ordinal).First()),
        new ImagePreprocessor(detector.Model), new DecodeLimits());
    var batch = Enumerable.Repeat((ReadOnlyMemory<float>)prepared.Pixels, detector.ImageBatchSize).ToArray();
    detector.EncodeBatch(batch);
    var (images, sw) = (0, Stopwatch.StartNew());
    while (images < 256 || sw.Elapsed < TimeSpan.FromSeconds(5))
    {
        detector.EncodeBatch(batch);
        images += batch.Length;
    }
    return images / sw.Elapsed.TotalSeconds;
}

static double BareRate(string modelDir, string imagesDir, string[] queries, int threads, int runs, string variant = "model")
{
    // The session as Owlbox runs it (same options, same concurrent runs), on one pre-made tensor: no decoding, no bus.
    var options = new DetectorOptions { ExecutionProvider = "cpu", Threads = threads };
    using var detector = new OwlDetector(ModelDirectory.Load(modelDir, variant), options);
    using var workers = new InferenceWorkers(options.EffectiveConcurrentRuns(Environment.ProcessorCount));
    var prepared = ImageDetection.Prepare(File.ReadAllBytes(Directory.GetFiles(imagesDir).Order(StringComparer.Ordinal).First()),
        new ImagePreprocessor(detector.Model), new DecodeLimits());
    var tokens = detector.PrepareQueries(queries);
    Task RunAll(int count) => Task.WhenAll(Enumerable.Range(0, count).Select(_ => workers.RunAsync(() => { detector.Run(prepared.Pixels, tokens).Dispose(); return 0; })));
    RunAll(workers.Count).Wait();
    var images = (runs + workers.Count - 1) / workers.Count * workers.Count; // every worker busy to the end
    var sw = Stopwatch.StartNew();
    RunAll(images).Wait();
    return images / sw.Elapsed.TotalSeconds;
}

static async Task<(double Fresh, double? Reprompt)> EndToEndAsync(string modelDir, string imagesDir, string[] queries, int threads, string[]? secondPrompt, string variant = "model", DetectorOptions? engine = null)
{
    var work = Directory.CreateTempSubdirectory("owlbox-bench-").FullName;
    try
    {
        await using var owlbox = await OneProcessOwlbox.StartAsync(work, threads, engine);
        var boxesPerImage = 0.0;
        async Task<TimeSpan> RunJobAsync(string dataset, string[]? prompt = null)
        {
            var spec = new JobSpec(new DatasetReference("local", dataset), modelDir, variant, string.Join('\n', prompt ?? queries),
                JobApi.DefaultOptions with { DeleteExisting = "yes" }, null, null);
            // Coarse polling on purpose: it is the harness's own work, beside the job's.
            var (elapsed, job) = await owlbox.RunJobAsync(spec, TimeSpan.FromMilliseconds(50));
            boxesPerImage = job.BoxesAdded / (double)Math.Max(1, job.Written);
            return elapsed;
        }
        // Warm-up on one image loads the session, as a long-running service has it loaded.
        var warm = Directory.CreateDirectory(Path.Combine(work, "warm")).FullName;
        // Not byte-identical to any measured image, so the embedding cache cannot help the measured job.
        File.WriteAllBytes(Path.Combine(warm, "warm.jpg"), [.. File.ReadAllBytes(Directory.GetFiles(imagesDir).Order(StringComparer.Ordinal).First()), 0]);
        await RunJobAsync(warm);
        var data = Directory.CreateDirectory(Path.Combine(work, "data")).FullName;
        foreach (var f in Directory.GetFiles(imagesDir))
        {
            File.Copy(f, Path.Combine(data, Path.GetFileName(f)));
        }
        var detector = owlbox.Services.GetRequiredService<DetectorPool>().Get(modelDir, variant);
        var sessionBefore = detector.SessionTime;
        var (gen2, pause) = (GC.CollectionCount(2), GC.GetTotalPauseDuration());
        var elapsed = await RunJobAsync(data);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"  ({queries.Length} queries: e2e job {elapsed.TotalSeconds:0.00} s, inference workers in the ONNX Runtime session {(detector.SessionTime - sessionBefore) / (elapsed * owlbox.Services.GetRequiredService<InferenceWorkers>().Count):P0} of it; {boxesPerImage:0.0} boxes per image written; GC: {GC.CollectionCount(2) - gen2} full collections, {(GC.GetTotalPauseDuration() - pause).TotalMilliseconds:0} ms paused)"));
        var count = Directory.GetFiles(imagesDir).Length;
        double? reprompt = null;
        if (secondPrompt is not null && detector.Model.IsSplit)
        {
            reprompt = count / (await RunJobAsync(data, secondPrompt)).TotalSeconds;
        }
        return (count / elapsed.TotalSeconds, reprompt);
    }
    finally
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        Directory.Delete(work, recursive: true);
    }
}

static (double Rate, double RssMb)? TransformersJs(string modelsDir, string model, string imagesDir, string[] queries, int threads, string root, string dtype = "fp32")
{
    var nodeDir = Path.Combine(root, ".cache", "node-tjs");
    if (!Directory.Exists(Path.Combine(nodeDir, "node_modules", "@huggingface", "transformers")))
    {
        Console.WriteLine("(installing @huggingface/transformers into .cache/node-tjs ...)");
        Exec("npm", ["install", "--prefix", nodeDir, "--no-audit", "--no-fund", "@huggingface/transformers"], null);
    }
    var script = Path.Combine(nodeDir, "tjs-bench.mjs");
    File.Copy(Path.Combine(AppContext.BaseDirectory, "tjs-bench.mjs"), script, overwrite: true);
    var output = Exec("node", [script, modelsDir, model, imagesDir, string.Join('|', queries), threads.ToString(CultureInfo.InvariantCulture), dtype], nodeDir);
    var line = output.Split('\n').LastOrDefault(l => l.StartsWith('{'));
    if (line is null)
    {
        Console.WriteLine("transformers.js failed:\n" + output);
        return null;
    }
    using var doc = JsonDocument.Parse(line);
    return (doc.RootElement.GetProperty("imagesPerSecond").GetDouble(), doc.RootElement.GetProperty("maxRssMB").GetDouble());
}

static string Exec(string file, string[] arguments, string? workingDirectory)
{
    var info = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = workingDirectory ?? "" };
    foreach (var a in arguments)
    {
        info.ArgumentList.Add(a);
    }
    using var p = Process.Start(info)!;
    var stdout = p.StandardOutput.ReadToEndAsync();
    var stderr = p.StandardError.ReadToEndAsync();
    p.WaitForExit();
    return stdout.Result + stderr.Result;
}

/// <summary>The owlbox a user runs: the ReadyToRun publish (tools/publish-owlbox.sh, which demo.sh runs) when there is
/// one, else the build output (then said, as a new process compiles its code first).</summary>
static string OwlboxExecutable(string root)
{
    var published = Path.Combine(root, "out", "owlbox", "owlbox.dll");
    if (File.Exists(published))
    {
        Console.WriteLine($"(owlbox: {published}, ReadyToRun)");
        return published;
    }
    Console.WriteLine("(owlbox: the build output, JIT-compiled in each process; tools/publish-owlbox.sh publishes it ahead-of-time compiled)");
    return Path.Combine(root, "app", "Owlbox.Cli", "bin", "Release", "net10.0", "owlbox.dll");
}

/// <summary>Runs a process to its end; its peak resident set (VmHWM, polled while it runs) in MB.</summary>
static (string Output, double PeakMb) ExecMeasured(string file, string[] arguments)
{
    var info = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true };
    foreach (var a in arguments)
    {
        info.ArgumentList.Add(a);
    }
    using var p = Process.Start(info)!;
    var stdout = p.StandardOutput.ReadToEndAsync();
    var stderr = p.StandardError.ReadToEndAsync();
    var peak = 0L;
    while (!p.WaitForExit(100))
    {
        try
        {
            p.Refresh();
            peak = Math.Max(peak, p.PeakWorkingSet64);
        }
        catch (InvalidOperationException)
        {
            break; // exited between the two calls
        }
    }
    p.WaitForExit();
    return (stdout.Result + stderr.Result, peak / 1048576.0);
}

/// <summary>
/// Owlbox against the size of the dataset (issue 27): per size N, a labels file of N samples x 2 boxes (entries for
/// images not in the folder: only their labels matter) and 100 new images; then a 100-image `owlbox label` job as a
/// child process (time, peak RSS), a review state request (`owlbox review` as a child, GET /api/state) and accept
/// shown over 1,000 proposed boxes (DatasetReview, in process: one labels update).
/// </summary>
static async Task<int> ScaleAsync(string root, int[] sizes)
{
    var owlbox = OwlboxExecutable(root);
    Console.WriteLine("labels file samples | file MB | 100-image job s | job peak RSS MB | first review state s | accept 1,000 boxes s | state after accept s");
    foreach (var n in sizes)
    {
        var data = Path.Combine(Path.GetTempPath(), $"owlbox-scale-{n}-{Environment.ProcessId}");
        Directory.CreateDirectory(data);
        try
        {
            var source = MakeImages(Path.Combine(root, ".cache", "bench", "images-100"), 100);
            foreach (var f in Directory.GetFiles(source))
            {
                File.Copy(f, Path.Combine(data, Path.GetFileName(f)));
            }
            var labels = WriteScaleLabels(data, n);
            var fileMb = new FileInfo(labels).Length / 1048576.0;
            var clock = Stopwatch.StartNew();
            var (output, peakMb) = ExecMeasured("dotnet", [owlbox, "label", data, "--model", Path.Combine(root, "models", "owlvit-test"),
                "--prompt-file", Path.Combine(root, "samples", "prompt.txt")]);
            var jobSeconds = clock.Elapsed.TotalSeconds;
            if (!output.Contains("100", StringComparison.Ordinal))
            {
                Console.WriteLine(output);
            }
            var (firstState, acceptSeconds, nextState) = await ReviewBenchAsync(owlbox, data);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{n,19:N0} | {fileMb,7:0.0} | {jobSeconds,15:0.00} | {peakMb,15:0} | {firstState,19:0.00} | {acceptSeconds,20:0.00} | {nextState,21:0.00}"));
        }
        finally
        {
            Directory.Delete(data, recursive: true);
        }
    }
    return 0;
}

/// <summary>Review only (issue 27): per size N, the scale bench's labels file of N samples (entries for images not in
/// the folder) and its 100 images, plus <paramref name="links"/> more images (hard links to those, named after the
/// 100 so the first page is theirs: what listing a large folder costs); then `owlbox review`'s first page, *accept shown*
/// over its 1,000 proposed boxes and the page after it (<see cref="ReviewBenchAsync"/>).</summary>
static async Task<int> ReviewScaleAsync(string root, int[] sizes, int links)
{
    var owlbox = OwlboxExecutable(root);
    Console.WriteLine($"labels file samples | file MB | images in folder | first review state s | accept 1,000 boxes s | state after accept s");
    foreach (var n in sizes)
    {
        var data = Path.Combine(Path.GetTempPath(), $"owlbox-review-scale-{n}-{Environment.ProcessId}");
        Directory.CreateDirectory(data);
        try
        {
            var source = MakeImages(Path.Combine(root, ".cache", "bench", "images-100"), 100);
            var files = Directory.GetFiles(source);
            foreach (var f in files)
            {
                File.Copy(f, Path.Combine(data, Path.GetFileName(f)));
            }
            for (var i = 0; i < links; i++)
            {
                // Spread over the 100 (a file takes at most 65,000 links on ext4).
                HardLinks.Create(files[i % files.Length], Path.Combine(data, string.Create(CultureInfo.InvariantCulture, $"zz-link{i:D7}.jpg")));
            }
            var fileMb = new FileInfo(WriteScaleLabels(data, n)).Length / 1048576.0;
            var (firstState, acceptSeconds, nextState) = await ReviewBenchAsync(owlbox, data);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{n,19:N0} | {fileMb,7:0.0} | {100 + links,16:N0} | {firstState,20:0.00} | {acceptSeconds,20:0.00} | {nextState,20:0.00}"));
        }
        finally
        {
            Directory.Delete(data, recursive: true);
        }
    }
    return 0;
}

/// <summary>A labels file of <paramref name="n"/> samples x 2 boxes, for images not in the folder (only their size
/// matters); its path.</summary>
static string WriteScaleLabels(string data, int n)
{
    var labels = Path.Combine(data, Owlbox.Datasets.Local.LabelsFile.FileName);
    using var w = new StreamWriter(labels);
    w.Write("{\"version\": 1, \"type\": \"bounding-box-labels\", \"boundingBoxes\": {");
    for (var i = 0; i < n; i++)
    {
        w.Write(string.Create(CultureInfo.InvariantCulture,
            $"{(i == 0 ? "" : ",")}\n\"old{i:D7}.jpg\": [{{\"label\": \"cat\", \"x\": {i % 200}, \"y\": 10, \"width\": 30, \"height\": 40}}, {{\"label\": \"dog\", \"x\": 5, \"y\": {i % 150}, \"width\": 20, \"height\": 20}}]"));
    }
    w.Write("}}\n");
    return labels;
}

/// <summary>1,000 proposed boxes over the folder's first 100 images (a proposal set "bench"), then `owlbox review`:
/// the first page, *accept shown* over those boxes in one request, the page after it.</summary>
static Task<(double FirstState, double Accept, double NextState)> ReviewBenchAsync(string owlbox, string data)
{
    var store = new Owlbox.Datasets.Proposals.ProposalStore(data);
    var images = Directory.GetFiles(data, "*.jpg").Select(Path.GetFileName).Order(StringComparer.Ordinal).Take(100).ToArray();
    store.Save(new Owlbox.Datasets.Proposals.ProposalSet
    {
        JobId = "bench",
        CreatedUtc = DateTimeOffset.UtcNow,
        ModelId = "m",
        ModelType = "owlvit",
        Prompt = "cat",
        DeleteExisting = "no",
        Samples = images.Select(image => new Owlbox.Datasets.Proposals.SampleProposal(image!, [], [], new Dictionary<string, string>(),
            Enumerable.Range(0, 10).Select(k => new Owlbox.Datasets.Proposals.ProposedBox("cat", 3 + 7 * k, 5, 20, 20,
                new Owlbox.Labeling.Provenance.BoxProvenance("m", 1, "cat", 0.5, 0, 0.1, true, 0.3, false, 0, 0))).ToArray())).ToList(),
    });
    var boxes = images.SelectMany(image => Enumerable.Range(0, 10).Select(k => new { image, index = k })).ToArray();
    return ReviewSecondsAsync(owlbox, data, JsonSerializer.Serialize(new { set = "bench", decision = "accept", boxes }));
}

/// <summary>`owlbox review` on the dataset: the page's first GET /api/state, one POST /api/decide (its *Accept shown*),
/// and the GET /api/state the page makes after it; seconds each, as the client sees them.</summary>
static async Task<(double FirstState, double Accept, double NextState)> ReviewSecondsAsync(string owlbox, string data, string acceptBody)
{
    var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
    foreach (var a in new[] { owlbox, "review", data, "--port", "0" })
    {
        info.ArgumentList.Add(a);
    }
    using var p = Process.Start(info)!;
    try
    {
        string? line;
        while ((line = await p.StandardOutput.ReadLineAsync()) is not null && !line.Contains("open http", StringComparison.Ordinal))
        {
        }
        var url = new Uri((line ?? throw new InvalidOperationException("owlbox review printed no address"))[line.IndexOf("http", StringComparison.Ordinal)..].Trim());
        var token = url.Query.TrimStart('?').Split('&').First(q => q.StartsWith("t=", StringComparison.Ordinal))[2..];
        using var http = new HttpClient { BaseAddress = new Uri($"{url.Scheme}://{url.Authority}"), Timeout = TimeSpan.FromMinutes(5) };
        http.DefaultRequestHeaders.Add("X-Owlbox-Token", token);
        async Task<double> TimeAsync(Func<Task<HttpResponseMessage>> request)
        {
            var clock = Stopwatch.StartNew();
            using var response = await request();
            var body = await response.Content.ReadAsStringAsync();
            if (!response.IsSuccessStatusCode)
            {
                Console.WriteLine($"review: {(int)response.StatusCode} {body}");
            }
            return clock.Elapsed.TotalSeconds;
        }
        // As the page asks: its first page of images (the page's size), the newest set.
        var page = new Uri($"/api/state?offset=0&limit=100", UriKind.Relative);
        var first = await TimeAsync(() => http.GetAsync(page));
        var accept = await TimeAsync(() => http.PostAsync(new Uri("/api/decide", UriKind.Relative),
            new StringContent(acceptBody, System.Text.Encoding.UTF8, "application/json")));
        var next = await TimeAsync(() => http.GetAsync(page));
        return (first, accept, next);
    }
    finally
    {
        p.Kill(entireProcessTree: true);
    }
}

static async Task<int> MemoryChildAsync(int count, int threads)
{
    var root = RepoPaths.Root;
    var data = Path.Combine(root, ".cache", "bench", $"memory-{count}");
    if (!Directory.Exists(data) || Directory.GetFiles(data).Length != count)
    {
        Directory.CreateDirectory(data);
        var random = new Random(11);
        string[] colours = ["red", "green", "blue", "yellow"];
        var scenes = Enumerable.Range(0, 64).Select(_ => new Scene(320, 240, (byte)random.Next(60, 200))
            .Add(colours[random.Next(4)], new Owlbox.Labeling.Boxes.PixelBox(random.Next(200), random.Next(140), 80, 60))
            .Encode(SKEncodedImageFormat.Jpeg, 90)).ToArray();
        for (var i = 0; i < count; i++)
        {
            // Bytes after a JPEG's end marker are ignored by decoders but make every file distinct content.
            File.WriteAllBytes(Path.Combine(data, $"m{i:D6}.jpg"), [.. scenes[i % scenes.Length], .. BitConverter.GetBytes(i)]);
        }
    }
    File.Delete(Path.Combine(data, "bounding_boxes.labels"));
    var work = Directory.CreateTempSubdirectory("owlbox-memory-").FullName;
    var spec = new JobSpec(new DatasetReference("local", data), Path.Combine(root, "models", "owlvit-test"), "model",
        File.ReadAllText(Path.Combine(root, "samples", "prompt.txt")), JobApi.DefaultOptions with { DeleteExisting = "yes" }, null, null);
    long maxHeap = 0;
    TimeSpan elapsed;
    JobRecord job;
    await using (var owlbox = await OneProcessOwlbox.StartAsync(work, threads))
    {
        (elapsed, job) = await owlbox.RunJobAsync(spec, TimeSpan.FromMilliseconds(200),
            () => maxHeap = Math.Max(maxHeap, GC.GetGCMemoryInfo().HeapSizeBytes));
    }
    var seconds = elapsed.TotalSeconds;
    var peakMb = PeakRss.Megabytes();
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"memory {job.Written} {seconds:0.00} {peakMb:0.0} {maxHeap / 1048576.0:0.0}"));
    Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
    Directory.Delete(work, recursive: true);
    return job.Written == count ? 0 : 1;
}

static string MakeImages(string directory, int count)
{
    if (Directory.Exists(directory) && Directory.GetFiles(directory).Length == count)
    {
        return directory;
    }
    Directory.CreateDirectory(directory);
    (int W, int H, SKEncodedImageFormat F)[] kinds =
    [
        (640, 480, SKEncodedImageFormat.Jpeg), (1280, 720, SKEncodedImageFormat.Jpeg), (480, 640, SKEncodedImageFormat.Png),
        (1024, 1024, SKEncodedImageFormat.Png), (1920, 1080, SKEncodedImageFormat.Jpeg), (333, 500, SKEncodedImageFormat.Png),
    ];
    var random = new Random(7);
    string[] colours = ["red", "green", "blue", "yellow"];
    for (var i = 0; i < count; i++)
    {
        var (w, h, f) = kinds[i % kinds.Length];
        var scene = new Scene(w, h, (byte)random.Next(60, 200));
        scene.Add(colours[random.Next(4)], new Owlbox.Labeling.Boxes.PixelBox(random.Next(w / 2), random.Next(h / 2), w / 4, h / 4));
        File.WriteAllBytes(Path.Combine(directory, $"bench-{i:D3}.{(f == SKEncodedImageFormat.Png ? "png" : "jpg")}"), scene.Encode(f, 90));
    }
    return directory;
}

/// <summary>The kernel's peak resident set of this process (VmHWM), resettable so one phase can be measured alone.</summary>
internal static class PeakRss
{
    /// <summary>Starts a new peak from the current resident set (Linux: "5" to clear_refs).</summary>
    public static void Reset() => File.WriteAllText("/proc/self/clear_refs", "5");

    public static double Megabytes()
    {
        var hwm = File.ReadAllLines("/proc/self/status").First(l => l.StartsWith("VmHWM:", StringComparison.Ordinal));
        return double.Parse(hwm.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) / 1024;
    }
}

/// <summary>Owlbox's one-process mode (every role on the in-memory bus, SQLite job store in a work folder), as
/// <c>owlbox label</c> runs it, with a way to run one job to its end.</summary>
internal sealed class OneProcessOwlbox : IAsyncDisposable
{
    private readonly IHost _host;

    private OneProcessOwlbox(IHost host) => _host = host;

    public IServiceProvider Services => _host.Services;

    /// <param name="engine">The session's options (default: CPU, <paramref name="threads"/> threads).</param>
    public static async Task<OneProcessOwlbox> StartAsync(string work, int threads, DetectorOptions? engine = null)
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Logging.ClearProviders();
        builder.Services.AddOwlbox(new OwlboxOptions
        {
            SqlitePath = Path.Combine(work, "jobs.db"),
            AllowModelDirectories = true,
            Datasets = new Owlbox.Hosting.LocalDatasetOptions { AllowAnyFolder = true }, // as `owlbox label` runs: the folder given
            Engine = engine ?? new DetectorOptions { ExecutionProvider = "cpu", Threads = threads },
            // Runs of up to 64 images never span two consumer batches (the detector raises it to a configured batch).
            Detector = new Owlbox.Detector.DetectorServiceOptions { BatchMessageLimit = Math.Max(16, engine?.ImageBatchSize ?? 0) },
        });
        var host = builder.Build();
        await host.StartAsync();
        return new OneProcessOwlbox(host);
    }

    /// <summary>Submits the job and polls the store until it is final; <paramref name="onPoll"/> runs at every poll.</summary>
    public async Task<(TimeSpan Elapsed, JobRecord Job)> RunJobAsync(JobSpec spec, TimeSpan pollEvery, Action? onPoll = null)
    {
        var store = _host.Services.GetRequiredService<IJobStore>();
        var id = Guid.NewGuid();
        var sw = Stopwatch.StartNew();
        using (var scope = _host.Services.CreateScope())
        {
            await scope.ServiceProvider.GetRequiredService<JobSubmitter>().SubmitAsync(id, spec, default);
        }
        JobRecord job;
        while (!(job = (await store.FindAsync(id, default))!).Status.IsFinal())
        {
            await Task.Delay(pollEvery);
            onPoll?.Invoke();
        }
        return (sw.Elapsed, job);
    }

    public async ValueTask DisposeAsync()
    {
        await _host.StopAsync();
        _host.Dispose();
    }
}

/// <summary>Hard links (many images without their bytes on disk).</summary>
internal static class HardLinks
{
    public static void Create(string existing, string link)
    {
        if (Link(existing, link) != 0)
        {
            throw new IOException($"could not link {link} to {existing} (errno {System.Runtime.InteropServices.Marshal.GetLastPInvokeError()})");
        }
    }

    [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "link", SetLastError = true)]
    private static extern int Link(string existing, string link);
}
