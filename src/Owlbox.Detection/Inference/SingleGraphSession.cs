using Microsoft.ML.OnnxRuntime;
using Owlbox.Models;

namespace Owlbox.Detection.Inference;

/// <summary>
/// The published single-graph export as one ONNX Runtime session: pixels and query tokens in, logits and boxes out,
/// text re-encoded every run. Inputs are bound by name (optimum's exports do not agree on their order) and checked
/// against the contract when opened. The graph reshapes queries by its image batch, which is baked in at export time,
/// so <see cref="BatchSize"/> is the declared fixed size, or 1 when that dimension is symbolic.
/// </summary>
internal sealed class SingleGraphSession : IDisposable
{
    private const string PixelValues = "pixel_values";
    private const string InputIds = "input_ids";
    private const string AttentionMask = "attention_mask";
    private const string Logits = "logits";
    private const string PredBoxes = "pred_boxes";

    private static readonly string[] s_inputNames = [PixelValues, InputIds, AttentionMask];
    private static readonly string[] s_outputNames = [Logits, PredBoxes];

    private readonly OwlModel _model;
    private readonly InferenceSession _session;
    private readonly SessionCounters _counters;
    private readonly RunOptions _runOptions = new();

    /// <summary>Takes ownership of <paramref name="session"/> (disposed here when the contract check fails).</summary>
    public SingleGraphSession(OwlModel model, InferenceSession session, SessionCounters counters)
    {
        _model = model;
        _session = session;
        _counters = counters;
        try
        {
            ValidateContract();
        }
        catch
        {
            Dispose();
            throw;
        }
        var batchDim = _session.InputMetadata[PixelValues].Dimensions[0];
        BatchSize = batchDim > 0 ? batchDim : 1;
    }

    public int BatchSize { get; }

    /// <returns>Logits [B, N, Q] and boxes [B, N, 4], B = <see cref="BatchSize"/>.</returns>
    public DetectorOutput Run(Memory<float> pixelValues, QueryTokens queries)
    {
        var b = BatchSize;
        var s = _model.ImageSize;
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
        using var outputs = _session.Run(_runOptions, s_inputNames, [pv, idv, mv], s_outputNames);
        _counters.AddRun(started);
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

    public void Dispose()
    {
        _session.Dispose();
        _runOptions.Dispose();
    }

    private void ValidateContract()
    {
        var inputs = _session.InputMetadata;
        var outputs = _session.OutputMetadata;
        var missing = s_inputNames.Where(n => !inputs.ContainsKey(n)).Concat(s_outputNames.Where(n => !outputs.ContainsKey(n))).ToArray();
        if (missing.Length > 0)
        {
            throw new ModelException(
                $"'{_model.OnnxPath}' is not an OWL zero-shot detection export: missing {string.Join(", ", missing)} " +
                $"(inputs: {string.Join(", ", inputs.Keys)}; outputs: {string.Join(", ", outputs.Keys)})");
        }
        var pixelDims = inputs[PixelValues].Dimensions;
        if (pixelDims.Length != 4 || (pixelDims[2] > 0 && pixelDims[2] != _model.ImageSize))
        {
            throw new ModelException($"'{_model.OnnxPath}': pixel_values is [{string.Join(", ", pixelDims)}] but preprocessor_config.json says {_model.ImageSize}x{_model.ImageSize}");
        }
        if (inputs[PixelValues].ElementType != typeof(float))
        {
            throw new ModelException($"'{_model.OnnxPath}': pixel_values is {inputs[PixelValues].ElementType.Name}; Owlbox feeds float32 (use an export with fp32 inputs, e.g. keep_io_types)");
        }
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
