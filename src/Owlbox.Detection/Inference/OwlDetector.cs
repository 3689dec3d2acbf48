using Owlbox.Models;
using Owlbox.Models.Text;

namespace Owlbox.Detection.Inference;

/// <summary>
/// A published OWL-ViT/OWLv2 model opened for detection, in the form its directory holds. The single graph: one
/// session over the whole export (<see cref="SingleGraphSession"/>), text re-encoded every run. The split form
/// (<c>owlbox models prepare</c>): two sessions, the image encoder (<see cref="SplitImageEncoder"/>) and the text
/// encoder (in <see cref="QueryEncoder"/>, run once per job), with the class head in C# (<see cref="EncodingScorer"/>).
/// Both forms give the same <see cref="DetectorOutput"/>; the split one also hands out encodings to keep.
/// </summary>
public sealed class OwlDetector : IDisposable
{
    private readonly SingleGraphSession? _singleGraph;
    private readonly SplitImageEncoder? _imageEncoder;
    private readonly QueryEncoder _queries;
    private readonly SessionCounters _counters = new();

    /// <param name="tokenizer">The model's tokenizer when the caller already loaded it (to check a prompt first).</param>
    public OwlDetector(OwlModel model, DetectorOptions? options = null, ClipTokenizer? tokenizer = null)
    {
        Model = model;
        options ??= new DetectorOptions();
        Options = options;
        tokenizer ??= ClipTokenizer.FromTokenizerJson(model.TokenizerPath);
        using var sessionOptions = OrtSessions.CreateOptions(options, out var provider);
        ExecutionProvider = provider;
        if (model.IsSplit)
        {
            var encoder = new FileInfo(model.ImageEncoderPath!);
            EncodingIdentity = string.Join('|', "v1", encoder.FullName, encoder.Length, encoder.LastWriteTimeUtc.Ticks, model.TypeName, options.Owlv2Padding);
            var imageSession = OrtSessions.Load(model.ImageEncoderPath!, sessionOptions);
            // The text encoder is on the device before the image batch is sized from its free memory.
            _queries = new QueryEncoder(tokenizer, model.MaxTextTokens, OrtSessions.Load(model.TextEncoderPath!, sessionOptions));
            _imageEncoder = new SplitImageEncoder(imageSession, model.ImageSize, options, provider == "CUDA", _counters);
            ImageBatchSize = _imageEncoder.BatchSize;
            return;
        }
        _queries = new QueryEncoder(tokenizer, model.MaxTextTokens, textEncoder: null);
        _singleGraph = new SingleGraphSession(model, OrtSessions.Load(model.OnnxPath, sessionOptions), _counters);
        ImageBatchSize = _singleGraph.BatchSize;
    }

    public OwlModel Model { get; }

    /// <summary>What an image's encoding depends on besides its bytes: the encoder file (path, size, time written: a
    /// re-exported model is a new one) and the preprocessing (model type, OWLv2 padding). Keys the embedding cache.</summary>
    public string EncodingIdentity { get; } = "";

    public DetectorOptions Options { get; }

    public ClipTokenizer Tokenizer => _queries.Tokenizer;

    /// <summary>"CPU" or "CUDA": the provider the sessions really run on.</summary>
    public string ExecutionProvider { get; }

    /// <summary>Time spent inside ONNX Runtime so far, summed over concurrent runs (so up to ConcurrentRuns × wall time).</summary>
    public TimeSpan SessionTime => _counters.SessionTime;

    /// <summary>Runs of the split form's image encoder so far (a run of a batch counts once).</summary>
    public long ImageEncoderRuns => _counters.ImageEncoderRuns;

    /// <summary>Images per run: the single graph's baked batch (1 as published); with the split form
    /// <see cref="DetectorOptions.ImageBatchSize"/>, or on CUDA what fits in the device's free memory (see
    /// <see cref="EncodeBatch"/>), else 1.</summary>
    public int ImageBatchSize { get; }

    /// <summary>Token count of a query including BOS/EOS, for the prompt grammar's length check.</summary>
    public int CountTokens(string text) => _queries.CountTokens(text);

    /// <summary>Tokenizes the queries once per job; with a split model also encodes them once.</summary>
    public QueryTokens PrepareQueries(IReadOnlyList<string> texts) => _queries.Prepare(texts);

    /// <summary>Runs <see cref="ImageBatchSize"/> preprocessed images against the queries.</summary>
    /// <returns>Logits [B, N, Q] and boxes [B, N, 4] (normalised cx, cy, w, h of the model input), N patches, in
    /// pooled buffers: dispose it.</returns>
    public DetectorOutput Run(Memory<float> pixelValues, QueryTokens queries)
    {
        if (_imageEncoder is null)
        {
            return _singleGraph!.Run(pixelValues, queries);
        }
        var (boxes, features) = _imageEncoder.Encode(pixelValues);
        return EncodingScorer.Score(boxes, features, queries);
    }

    /// <summary>Split models only: the image encoder's per-patch boxes and class-head inputs for a batch of images.</summary>
    public (float[] Boxes, ImageFeatures Features) EncodeImages(Memory<float> pixelValues) =>
        (_imageEncoder ?? throw new InvalidOperationException("EncodeImages needs the split form of the model")).Encode(pixelValues);

    /// <summary>Split models only: up to <see cref="ImageBatchSize"/> preprocessed images in one run of the image
    /// encoder, through a <see cref="BoundImageEncoder"/> (input and outputs bound once, pinned host buffers on CUDA).
    /// The same per-image outputs as <see cref="EncodeImages"/> one image at a time.</summary>
    public (float[] Boxes, ImageFeatures Features)[] EncodeBatch(IReadOnlyList<ReadOnlyMemory<float>> images) =>
        (_imageEncoder ?? throw new InvalidOperationException("EncodeBatch needs the split form of the model")).EncodeBatch(images);

    /// <summary>The class head over images fresh from the image encoder (<see cref="EncodingScorer"/>).</summary>
    public static DetectorOutput Score(float[] boxes, ImageFeatures features, QueryTokens queries) => EncodingScorer.Score(boxes, features, queries);

    /// <summary>The class head over a kept encoding (<see cref="EncodingScorer"/>).</summary>
    public static DetectorOutput Score(CachedImage image, QueryTokens queries) => EncodingScorer.Score(image, queries);

    public void Dispose()
    {
        _imageEncoder?.Dispose();
        _singleGraph?.Dispose();
        _queries.Dispose();
    }
}
