using System.Collections.Concurrent;
using Microsoft.ML.OnnxRuntime;
using Owlbox.Models;

namespace Owlbox.Detection.Inference;

/// <summary>
/// The split form's image-encoder session: per image, every patch's box and what the class head needs (normalised
/// class embedding, logit shift and scale, and OWLv2's objectness where the prepared encoder outputs it). Runs one
/// image or a batch of up to <see cref="BatchSize"/>; a batch goes through a <see cref="BoundImageEncoder"/> (input
/// and outputs bound once, pinned host buffers on CUDA), one per concurrent run.
/// </summary>
internal sealed class SplitImageEncoder : IDisposable
{
    private const string PixelValues = "pixel_values";

    private static readonly string[] s_outputs = ["pred_boxes", "class_embeds", "logit_shift", "logit_scale"];

    /// <summary>Where objectness comes among the outputs, when the encoder has it.</summary>
    private const int ObjectnessIndex = 4;

    private readonly InferenceSession _session;
    private readonly int _imageSize;
    private readonly bool _cuda;
    private readonly int _deviceId;
    private readonly SessionCounters _counters;
    private readonly RunOptions _runOptions = new();

    /// <summary>The outputs read: <see cref="s_outputs"/>, then objectness where the encoder has it.</summary>
    private readonly string[] _outputs;

    private readonly ConcurrentBag<BoundImageEncoder> _boundEncoders = [];
    private readonly List<BoundImageEncoder> _allBoundEncoders = [];
    private (string Name, long[] Shape)[]? _outputShapes;

    /// <summary>Takes ownership of <paramref name="session"/>.</summary>
    /// <param name="cuda">Whether the session runs on CUDA: the batch is then sized from free device memory unless
    /// <see cref="DetectorOptions.ImageBatchSize"/> is set, and bound buffers are pinned.</param>
    public SplitImageEncoder(InferenceSession session, int imageSize, DetectorOptions options, bool cuda, SessionCounters counters)
    {
        _session = session;
        _imageSize = imageSize;
        _cuda = cuda;
        _deviceId = options.DeviceId;
        _counters = counters;
        // OWLv2's objectness per patch, where the prepared encoder outputs it, is read and kept with the encoding
        // (never scored: it ranks patches for example queries).
        _outputs = session.OutputMetadata.ContainsKey(OwlModel.ObjectnessOutput) ? [.. s_outputs, OwlModel.ObjectnessOutput] : s_outputs;
        BatchSize = options.ImageBatchSize > 0 ? options.ImageBatchSize : cuda ? SizeBatchFromDeviceMemory() : 1;
    }

    /// <summary>Images per batched run: <see cref="DetectorOptions.ImageBatchSize"/>, or on CUDA what fits in the
    /// device's free memory, else 1.</summary>
    public int BatchSize { get; }

    /// <summary>A batch of images (any count) in one plain run.</summary>
    public (float[] Boxes, ImageFeatures Features) Encode(Memory<float> pixelValues)
    {
        var s = _imageSize;
        var b = pixelValues.Length / (3 * s * s);
        using var pv = OrtValue.CreateTensorValueFromMemory(OrtMemoryInfo.DefaultInstance, pixelValues, [b, 3, s, s]);
        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        using var outputs = _session.Run(_runOptions, [PixelValues], [pv], _outputs);
        _counters.AddImageEncoderRun(started);
        var embeddings = outputs[1].GetTensorDataAsSpan<float>().ToArray();
        var shift = outputs[2].GetTensorDataAsSpan<float>().ToArray();
        var objectness = outputs.Count > ObjectnessIndex ? outputs[ObjectnessIndex].GetTensorDataAsSpan<float>().ToArray() : [];
        return (outputs[0].GetTensorDataAsSpan<float>().ToArray(),
            new ImageFeatures(embeddings, shift, outputs[3].GetTensorDataAsSpan<float>().ToArray(), embeddings.Length / shift.Length, objectness));
    }

    /// <summary>Up to <see cref="BatchSize"/> images in one run through a bound encoder; the same per-image outputs as
    /// <see cref="Encode"/> one image at a time.</summary>
    public (float[] Boxes, ImageFeatures Features)[] EncodeBatch(IReadOnlyList<ReadOnlyMemory<float>> images)
    {
        if (images.Count < 1 || images.Count > BatchSize)
        {
            throw new ArgumentException($"{images.Count} images for runs of at most {BatchSize}", nameof(images));
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
            _counters.AddImageEncoderRun(started);
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

    /// <summary>One bound encoder per concurrent run, made on first use (each holds its batch's host buffers).</summary>
    private BoundImageEncoder RentBoundEncoder()
    {
        if (_boundEncoders.TryTake(out var encoder))
        {
            return encoder;
        }
        lock (_allBoundEncoders)
        {
            _outputShapes ??= OutputShapes();
            encoder = new BoundImageEncoder(_session, BatchSize, _imageSize, _outputShapes, _cuda, _deviceId);
            _allBoundEncoders.Add(encoder);
            return encoder;
        }
    }

    /// <summary>Each output's shape for one image, from a run on a blank image.</summary>
    private (string Name, long[] Shape)[] OutputShapes()
    {
        var s = _imageSize;
        using var pv = OrtValue.CreateTensorValueFromMemory(new float[3 * s * s], [1, 3, s, s]);
        using var outputs = _session.Run(_runOptions, [PixelValues], [pv], _outputs);
        return [.. _outputs.Select((name, i) => (name, outputs[i].GetTensorTypeAndShape().Shape))];
    }

    /// <summary>On CUDA without a configured batch: runs one blank image, then two, and sizes the batch by what the
    /// second image cost the device against what is free (at least 64 MB an image is assumed: an arena that had room
    /// for the second image says nothing). Eight when the CUDA runtime cannot be asked.</summary>
    private int SizeBatchFromDeviceMemory()
    {
        var pixels = 3 * _imageSize * _imageSize;
        Encode(new float[pixels]);
        var one = CudaMemory.FreeBytes(_deviceId);
        Encode(new float[2 * pixels]);
        var two = CudaMemory.FreeBytes(_deviceId);
        return one is { } a && two is { } b ? ImageBatchSizing.FromFreeMemory(b, Math.Max(a - b, 64L << 20)) : 8;
    }

    public void Dispose()
    {
        foreach (var encoder in _allBoundEncoders)
        {
            encoder.Dispose();
        }
        _session.Dispose();
        _runOptions.Dispose();
    }
}
