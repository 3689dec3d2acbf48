using Microsoft.ML.OnnxRuntime;
using Owlbox.Models;
using Owlbox.Models.Text;

namespace Owlbox.Detection.Inference;

/// <summary>
/// One ONNX Runtime session over a published OWL-ViT/OWLv2 export. Inputs are bound by name (optimum's exports do
/// not agree on their order). The single-graph export reshapes queries by its image batch, which is baked in at
/// export time, so the batch is the model's declared fixed size, or 1 when that dimension is symbolic.
/// </summary>
public sealed class OwlDetector : IDisposable
{
    private const string PixelValues = "pixel_values";
    private const string InputIds = "input_ids";
    private const string AttentionMask = "attention_mask";
    private const string Logits = "logits";
    private const string PredBoxes = "pred_boxes";

    private readonly InferenceSession? _session;
    private readonly InferenceSession? _imageEncoder;
    private readonly InferenceSession? _textEncoder;
    private readonly RunOptions _runOptions = new();
    private static readonly string[] s_inputNames = [PixelValues, InputIds, AttentionMask];
    private readonly string[] _outputNames = [Logits, PredBoxes];

    /// <param name="tokenizer">The model's tokenizer when the caller already loaded it (to check a prompt first).</param>
    public OwlDetector(OwlModel model, DetectorOptions? options = null, ClipTokenizer? tokenizer = null)
    {
        Model = model;
        options ??= new DetectorOptions();
        Options = options;
        Tokenizer = tokenizer ?? ClipTokenizer.FromTokenizerJson(model.TokenizerPath);
        using var sessionOptions = CreateSessionOptions(options, out var provider);
        ExecutionProvider = provider;
        if (model.IsSplit)
        {
            var encoder = new FileInfo(model.ImageEncoderPath!);
            EncodingIdentity = string.Join('|', "v1", encoder.FullName, encoder.Length, encoder.LastWriteTimeUtc.Ticks, model.TypeName, options.Owlv2Padding);
            _imageEncoder = Load(model.ImageEncoderPath!, sessionOptions);
            // OWLv2's objectness per patch, where the prepared encoder outputs it, is read and kept with the encoding
            // (never scored: it ranks patches for example queries).
            _imageOutputs = _imageEncoder.OutputMetadata.ContainsKey(OwlModel.ObjectnessOutput)
                ? [.. s_imageOutputs, OwlModel.ObjectnessOutput] : s_imageOutputs;
            _textEncoder = Load(model.TextEncoderPath!, sessionOptions);
            ImageBatchSize = options.ImageBatchSize > 0 ? options.ImageBatchSize
                : provider == "CUDA" ? SizeBatchFromDeviceMemory() : 1;
            return;
        }
        _session = Load(model.OnnxPath, sessionOptions);
        ValidateContract();
        var batchDim = _session.InputMetadata[PixelValues].Dimensions[0];
        ImageBatchSize = batchDim > 0 ? batchDim : 1;
    }

    public OwlModel Model { get; }

    /// <summary>What an image's encoding depends on besides its bytes: the encoder file (path, size, time written: a
    /// re-exported model is a new one) and the preprocessing (model type, OWLv2 padding). Keys the embedding cache.</summary>
    public string EncodingIdentity { get; } = "";

    public DetectorOptions Options { get; }
    public ClipTokenizer Tokenizer { get; }

    /// <summary>"CPU" or "CUDA": the provider the session really runs on.</summary>
    public string ExecutionProvider { get; }

    /// <summary>Time spent inside ONNX Runtime so far, summed over concurrent runs (so up to ConcurrentRuns × wall time).</summary>
    public TimeSpan SessionTime => TimeSpan.FromTicks(Interlocked.Read(ref _sessionTicks));

    private long _sessionTicks;

    /// <summary>Runs of the split form's image encoder so far (a run of a batch counts once).</summary>
    public long ImageEncoderRuns => Interlocked.Read(ref _imageEncoderRuns);

    private long _imageEncoderRuns;

    /// <summary>Images per run of the session: the single graph's baked batch (1 as published); with the split form
    /// <see cref="DetectorOptions.ImageBatchSize"/>, or on CUDA what fits in the device's free memory (see
    /// <see cref="EncodeBatch"/>), else 1.</summary>
    public int ImageBatchSize { get; }

    /// <summary>Token count of a query including BOS/EOS, for the prompt grammar's length check.</summary>
    public int CountTokens(string text) => Tokenizer.Encode(text).Length;

    /// <summary>Tokenizes the queries once per job; with a split model also encodes them once.</summary>
    public QueryTokens PrepareQueries(IReadOnlyList<string> texts)
    {
        var tokens = Tokenize(texts);
        if (_textEncoder is null)
        {
            return tokens;
        }
        using var idv = OrtValue.CreateTensorValueFromMemory(tokens.InputIds, [tokens.Count, tokens.Length]);
        using var mv = OrtValue.CreateTensorValueFromMemory(tokens.AttentionMask, [tokens.Count, tokens.Length]);
        using var outputs = _textEncoder.Run(_runOptions, [InputIds, AttentionMask], [idv, mv], ["text_embeds"]);
        var embeddings = outputs[0].GetTensorDataAsSpan<float>().ToArray();
        return tokens with { Embeddings = embeddings, EmbeddingSize = embeddings.Length / tokens.Count };
    }

    private QueryTokens Tokenize(IReadOnlyList<string> texts) => QueryTokens.Create(Tokenizer, texts, Model.MaxTextTokens);

    /// <summary>Runs <see cref="ImageBatchSize"/> preprocessed images against the queries.</summary>
    /// <returns>Logits [B, N, Q] and boxes [B, N, 4] (normalised cx, cy, w, h of the model input), N patches, in
    /// pooled buffers: dispose it.</returns>
    public DetectorOutput Run(Memory<float> pixelValues, QueryTokens queries)
    {
        if (_imageEncoder is not null)
        {
            return RunSplit(pixelValues, queries);
        }
        var b = ImageBatchSize;
        var s = Model.ImageSize;
        if (pixelValues.Length != b * 3 * s * s)
        {
            throw new ArgumentException($"pixel_values holds {pixelValues.Length} floats; the model takes {b}x3x{s}x{s}", nameof(pixelValues));
        }
        // Queries are laid out image-major: image 0's Q rows, then image 1's (HF modeling_owlv2 forward).
        var (ids, mask) = b == 1 ? (queries.InputIds, queries.AttentionMask) : (Repeat(queries.InputIds, b), Repeat(queries.AttentionMask, b));
        using var pv = OrtValue.CreateTensorValueFromMemory(OrtMemoryInfo.DefaultInstance, pixelValues, [b, 3, s, s]);
        using var idv = OrtValue.CreateTensorValueFromMemory(ids, [b * queries.Count, queries.Length]);
        using var mv = OrtValue.CreateTensorValueFromMemory(mask, [b * queries.Count, queries.Length]);
        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        using var outputs = _session!.Run(_runOptions, s_inputNames, [pv, idv, mv], _outputNames);
        Interlocked.Add(ref _sessionTicks, System.Diagnostics.Stopwatch.GetElapsedTime(started).Ticks);
        var logits = outputs[0];
        var boxes = outputs[1];
        var shape = logits.GetTensorTypeAndShape().Shape;
        var n = (int)shape[1];
        if (shape[0] != b || shape[2] != queries.Count)
        {
            throw new ModelException($"logits came back as [{string.Join(", ", shape)}]; expected [{b}, N, {queries.Count}]");
        }
        var output = new DetectorOutput(b, n, queries.Count);
        logits.GetTensorDataAsSpan<float>().CopyTo(output.WritableLogits.Span);
        boxes.GetTensorDataAsSpan<float>().CopyTo(output.WritableBoxes.Span);
        return output;
    }

    /// <summary>The split form: the image encoder gives every patch's box, normalised class embedding, shift and scale;
    /// the class head is then a small matrix product against the job's query embeddings, here in C#:
    /// logits[n, q] = (Ê[n]·q̂[q] + shift[n]) × scale[n].</summary>
    private DetectorOutput RunSplit(Memory<float> pixelValues, QueryTokens queries)
    {
        var (boxes, features) = EncodeImages(pixelValues);
        return Score(boxes, features, queries);
    }

    /// <summary>Split models only: the image encoder's per-patch boxes and class-head inputs for a batch of images.</summary>
    public (float[] Boxes, ImageFeatures Features) EncodeImages(Memory<float> pixelValues)
    {
        var encoder = _imageEncoder ?? throw new InvalidOperationException("EncodeImages needs the split form of the model");
        var s = Model.ImageSize;
        var b = pixelValues.Length / (3 * s * s);
        using var pv = OrtValue.CreateTensorValueFromMemory(OrtMemoryInfo.DefaultInstance, pixelValues, [b, 3, s, s]);
        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        using var outputs = encoder.Run(_runOptions, [PixelValues], [pv], _imageOutputs);
        Interlocked.Add(ref _sessionTicks, System.Diagnostics.Stopwatch.GetElapsedTime(started).Ticks);
        Interlocked.Increment(ref _imageEncoderRuns);
        var embeddings = outputs[1].GetTensorDataAsSpan<float>().ToArray();
        var shift = outputs[2].GetTensorDataAsSpan<float>().ToArray();
        var objectness = outputs.Count > ObjectnessIndex ? outputs[ObjectnessIndex].GetTensorDataAsSpan<float>().ToArray() : [];
        return (outputs[0].GetTensorDataAsSpan<float>().ToArray(),
            new ImageFeatures(embeddings, shift, outputs[3].GetTensorDataAsSpan<float>().ToArray(), embeddings.Length / shift.Length, objectness));
    }

    /// <summary>Split models only: up to <see cref="ImageBatchSize"/> preprocessed images in one run of the image
    /// encoder, through a <see cref="BoundImageEncoder"/> (input and outputs bound once, pinned host buffers on CUDA).
    /// The same per-image outputs as <see cref="EncodeImages"/> one image at a time.</summary>
    public (float[] Boxes, ImageFeatures Features)[] EncodeBatch(IReadOnlyList<ReadOnlyMemory<float>> images)
    {
        if (_imageEncoder is null)
        {
            throw new InvalidOperationException("EncodeBatch needs the split form of the model");
        }
        if (images.Count < 1 || images.Count > ImageBatchSize)
        {
            throw new ArgumentException($"{images.Count} images for runs of at most {ImageBatchSize}", nameof(images));
        }
        var encoder = RentBoundEncoder();
        try
        {
            for (var i = 0; i < images.Count; i++)
            {
                images[i].Span.CopyTo(encoder.Input(i));
            }
            var started = System.Diagnostics.Stopwatch.GetTimestamp();
            encoder.Run(images.Count);
            Interlocked.Add(ref _sessionTicks, System.Diagnostics.Stopwatch.GetElapsedTime(started).Ticks);
            Interlocked.Increment(ref _imageEncoderRuns);
            var results = new (float[] Boxes, ImageFeatures Features)[images.Count];
            for (var i = 0; i < images.Count; i++)
            {
                var embeddings = encoder.Output(1, i).ToArray();
                var shift = encoder.Output(2, i).ToArray();
                var objectness = encoder.Outputs > ObjectnessIndex ? encoder.Output(ObjectnessIndex, i).ToArray() : [];
                results[i] = (encoder.Output(0, i).ToArray(),
                    new ImageFeatures(embeddings, shift, encoder.Output(3, i).ToArray(), embeddings.Length / shift.Length, objectness));
            }
            return results;
        }
        finally
        {
            _boundEncoders.Add(encoder);
        }
    }

    private readonly System.Collections.Concurrent.ConcurrentBag<BoundImageEncoder> _boundEncoders = [];
    private readonly List<BoundImageEncoder> _allBoundEncoders = [];
    private (string Name, long[] Shape)[]? _imageOutputShapes;

    /// <summary>One bound encoder per concurrent run, made on first use (each holds its batch's host buffers).</summary>
    private BoundImageEncoder RentBoundEncoder()
    {
        if (_boundEncoders.TryTake(out var encoder))
        {
            return encoder;
        }
        lock (_allBoundEncoders)
        {
            _imageOutputShapes ??= ImageOutputShapes();
            encoder = new BoundImageEncoder(_imageEncoder!, ImageBatchSize, Model.ImageSize, _imageOutputShapes, ExecutionProvider == "CUDA", Options.DeviceId);
            _allBoundEncoders.Add(encoder);
            return encoder;
        }
    }

    /// <summary>Each image output's shape for one image, from a run on a blank image.</summary>
    private (string Name, long[] Shape)[] ImageOutputShapes()
    {
        var s = Model.ImageSize;
        using var pv = OrtValue.CreateTensorValueFromMemory(new float[3 * s * s], [1, 3, s, s]);
        using var outputs = _imageEncoder!.Run(_runOptions, [PixelValues], [pv], _imageOutputs);
        return [.. _imageOutputs.Select((name, i) => (name, outputs[i].GetTensorTypeAndShape().Shape))];
    }

    /// <summary>On CUDA without a configured batch: runs one blank image, then two, and sizes the batch by what the
    /// second image cost the device against what is free (at least 64 MB an image is assumed: an arena that had room
    /// for the second image says nothing). Eight when the CUDA runtime cannot be asked.</summary>
    private int SizeBatchFromDeviceMemory()
    {
        var pixels = 3 * Model.ImageSize * Model.ImageSize;
        EncodeImages(new float[pixels]);
        var one = CudaMemory.FreeBytes(Options.DeviceId);
        EncodeImages(new float[2 * pixels]);
        var two = CudaMemory.FreeBytes(Options.DeviceId);
        return one is { } a && two is { } b ? ImageBatchSizing.FromFreeMemory(b, Math.Max(a - b, 64L << 20)) : 8;
    }

    /// <summary>The class head over images fresh from the image encoder.</summary>
    public static DetectorOutput Score(float[] boxes, ImageFeatures features, QueryTokens queries) =>
        Score<float>(boxes, features.ClassEmbeddings, features.Shift, features.Scale, features.Dimension, queries);

    /// <summary>The class head over a kept encoding: a re-prompt of a seen image costs only this.</summary>
    public static DetectorOutput Score(CachedImage image, QueryTokens queries) =>
        Score<Half>(image.Boxes, image.ClassEmbeddings, image.Shift, image.Scale, image.Dimension, queries);

    private static DetectorOutput Score<T>(float[] boxes, T[] embeddings, float[] shift, float[] scale, int dimension, QueryTokens queries) where T : unmanaged
    {
        var q = queries.Embeddings ?? throw new InvalidOperationException("queries were prepared without text embeddings");
        var patchesInBatch = shift.Length;
        var images = boxes.Length / 4 / patchesInBatch;
        var output = new DetectorOutput(images, patchesInBatch / images, queries.Count);
        ClassHead.Logits<T>(embeddings, shift, scale, dimension, q, queries.Count, PaddedQueries(queries), output.WritableLogits.Span);
        boxes.CopyTo(output.WritableBoxes);
        return output;
    }

    private static bool[] PaddedQueries(QueryTokens queries)
    {
        // As the single graph masks query rows whose first id is the pad id 0.
        var padded = new bool[queries.Count];
        for (var i = 0; i < queries.Count; i++)
        {
            padded[i] = queries.InputIds[i * queries.Length] == 0;
        }
        return padded;
    }

    private static readonly string[] s_imageOutputs = ["pred_boxes", "class_embeds", "logit_shift", "logit_scale"];

    /// <summary>Where objectness comes among the image outputs, when the encoder has it.</summary>
    private const int ObjectnessIndex = 4;

    /// <summary>The image outputs read: <see cref="s_imageOutputs"/>, then objectness where the encoder has it.</summary>
    private readonly string[] _imageOutputs = s_imageOutputs;

    private static InferenceSession Load(string path, SessionOptions options)
    {
        try
        {
            return new InferenceSession(path, options);
        }
        catch (OnnxRuntimeException e)
        {
            throw new ModelException($"ONNX Runtime cannot load '{path}': {e.Message}", e);
        }
    }

    public void Dispose()
    {
        foreach (var encoder in _allBoundEncoders)
        {
            encoder.Dispose();
        }
        _session?.Dispose();
        _imageEncoder?.Dispose();
        _textEncoder?.Dispose();
        _runOptions.Dispose();
    }

    private void ValidateContract()
    {
        var inputs = _session!.InputMetadata;
        var outputs = _session.OutputMetadata;
        var missing = new[] { PixelValues, InputIds, AttentionMask }.Where(n => !inputs.ContainsKey(n))
            .Concat(new[] { Logits, PredBoxes }.Where(n => !outputs.ContainsKey(n))).ToArray();
        if (missing.Length > 0)
        {
            throw new ModelException(
                $"'{Model.OnnxPath}' is not an OWL zero-shot detection export: missing {string.Join(", ", missing)} " +
                $"(inputs: {string.Join(", ", inputs.Keys)}; outputs: {string.Join(", ", outputs.Keys)})");
        }
        var pixelDims = inputs[PixelValues].Dimensions;
        if (pixelDims.Length != 4 || (pixelDims[2] > 0 && pixelDims[2] != Model.ImageSize))
        {
            throw new ModelException($"'{Model.OnnxPath}': pixel_values is [{string.Join(", ", pixelDims)}] but preprocessor_config.json says {Model.ImageSize}x{Model.ImageSize}");
        }
        if (inputs[PixelValues].ElementType != typeof(float))
        {
            throw new ModelException($"'{Model.OnnxPath}': pixel_values is {inputs[PixelValues].ElementType.Name}; Owlbox feeds float32 (use an export with fp32 inputs, e.g. keep_io_types)");
        }
    }

    private static SessionOptions CreateSessionOptions(DetectorOptions options, out string provider)
    {
        var so = new SessionOptions
        {
            GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL,
            IntraOpNumThreads = options.IntraOpThreadsPerRun(Environment.ProcessorCount),
        };
        provider = "CPU";
        var wantsCuda = options.ExecutionProvider is "cuda" or "auto";
        if (wantsCuda)
        {
            try
            {
                using var cuda = new OrtCUDAProviderOptions();
                cuda.UpdateOptions(new Dictionary<string, string>
                {
                    ["device_id"] = options.DeviceId.ToString(System.Globalization.CultureInfo.InvariantCulture),
                    // Device memory comes from ONNX Runtime's arena and is reused run after run; growing it by what a
                    // run asks for (not the next power of two) keeps a second model or a larger batch on the card.
                    ["arena_extend_strategy"] = "kSameAsRequested",
                    // Shapes are fixed per model, so the exhaustive cuDNN search pays for itself on the first run.
                    ["cudnn_conv_algo_search"] = "EXHAUSTIVE",
                    ["do_copy_in_default_stream"] = "1",
                });
                so.AppendExecutionProvider_CUDA(cuda);
                provider = "CUDA";
            }
            catch (Exception e) when (e is OnnxRuntimeException or EntryPointNotFoundException or DllNotFoundException)
            {
                if (options.ExecutionProvider == "cuda")
                {
                    so.Dispose();
                    throw new ModelException($"the CUDA execution provider is not available here: {e.Message}", e);
                }
            }
        }
        else if (options.ExecutionProvider != "cpu")
        {
            so.Dispose();
            throw new ModelException($"unknown execution provider '{options.ExecutionProvider}'; use cpu, cuda or auto");
        }
        return so;
    }

    private static long[] Repeat(long[] rows, int times)
    {
        var result = new long[rows.Length * times];
        for (var i = 0; i < times; i++)
        {
            rows.CopyTo(result, i * rows.Length);
        }
        return result;
    }
}
