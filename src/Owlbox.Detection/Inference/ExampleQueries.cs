using Owlbox.Detection.Imaging;
using Owlbox.Labeling.Boxes;

namespace Owlbox.Detection.Inference;

/// <summary>One example image: its bytes, a name for messages (its file), and the boxes on it that are examples,
/// each under the example name (the label in <c>[label]</c>) it serves.</summary>
public sealed record ExampleImage(string Name, byte[] Bytes, IReadOnlyList<(string Example, PixelBox Box)> Boxes);

/// <summary>An example that cannot become a query: a box outside its image or smaller than a patch, an image that
/// cannot be read, a model without the prepared form. The message names the image and box.</summary>
public sealed class ExampleException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>A job's example queries, computed once: per example name, one query embedding (the chosen patch's
/// normalised class embedding, D values) per example box.</summary>
public sealed class ExampleQueries(IReadOnlyDictionary<string, IReadOnlyList<float[]>> byName)
{
    public IReadOnlyDictionary<string, IReadOnlyList<float[]>> ByName { get; } = byName;

    /// <summary>
    /// Each example image encoded once (through <paramref name="cache"/> where given, so a seen image costs no
    /// forward pass and a new one is kept for the job that labels it), then each box's query chosen by
    /// <see cref="ExampleQuerySelection"/>. Throws <see cref="ExampleException"/> for any example that cannot serve.
    /// </summary>
    public static ExampleQueries Embed(OwlDetector detector, IReadOnlyList<ExampleImage> images, ImageEmbeddingCache? cache, DecodeLimits limits)
    {
        var model = detector.Model;
        if (!model.IsSplit)
        {
            throw new ExampleException($"example lines ([label]) score patch embeddings with the class head alone, which needs the model's prepared form: run `owlbox models prepare {model.Directory}` first");
        }
        var byName = new Dictionary<string, List<float[]>>(StringComparer.Ordinal);
        var preprocessor = new ImagePreprocessor(model, detector.Options.Owlv2Padding);
        foreach (var image in images)
        {
            var encoded = Encode(detector, preprocessor, image, cache, limits);
            var n = encoded.Boxes.Length / 4;
            var grid = (int)Math.Round(Math.Sqrt(n));
            var (scaleX, scaleY) = BoxGeometry.InputScale(model.Layout, encoded.Width, encoded.Height);
            var (patchWidth, patchHeight) = (scaleX / grid, scaleY / grid);
            foreach (var (name, box) in image.Boxes)
            {
                // In 64 bits: a box of int.MaxValue at int.MaxValue must not wrap round to "inside".
                if (box.Width <= 0 || box.Height <= 0 || box.X < 0 || box.Y < 0 || (long)box.X + box.Width > encoded.Width || (long)box.Y + box.Height > encoded.Height)
                {
                    throw new ExampleException($"example box [{name}] at x={box.X} y={box.Y} width={box.Width} height={box.Height} on {image.Name} is not inside the image ({encoded.Width}x{encoded.Height})");
                }
                if (box.Area < patchWidth * patchHeight)
                {
                    throw new ExampleException($"example box [{name}] at x={box.X} y={box.Y} width={box.Width} height={box.Height} on {image.Name} is smaller than one patch of the model ({patchWidth:0.#}x{patchHeight:0.#} pixels of this image): the model sees nothing that small on its own");
                }
                var corners = BoxGeometry.ToNormalizedCorners(box, model.Layout, encoded.Width, encoded.Height);
                var patch = ExampleQuerySelection.SelectPatch(encoded.Boxes, encoded.Embeddings, encoded.Dimension, encoded.Objectness, corners);
                if (patch < 0)
                {
                    throw new ExampleException($"example box [{name}] on {image.Name}: no predicted box of the model overlaps it");
                }
                if (!byName.TryGetValue(name, out var list))
                {
                    byName[name] = list = [];
                }
                list.Add(Normalize(encoded.Embeddings.AsSpan(patch * encoded.Dimension, encoded.Dimension)));
            }
        }
        return new ExampleQueries(byName.ToDictionary(kv => kv.Key, kv => (IReadOnlyList<float[]>)kv.Value, StringComparer.Ordinal));
    }

    private sealed record Encoded(int Width, int Height, float[] Boxes, float[] Embeddings, int Dimension, float[] Objectness);

    private static Encoded Encode(OwlDetector detector, ImagePreprocessor preprocessor, ExampleImage image, ImageEmbeddingCache? cache, DecodeLimits limits)
    {
        var key = cache is { Enabled: true } ? ImageEmbeddingCache.Key(detector.EncodingIdentity, image.Bytes) : null;
        if (key is not null && cache!.TryGet(key, out var hit, out var borrowed))
        {
            var widened = new float[hit.ClassEmbeddings.Length];
            System.Numerics.Tensors.TensorPrimitives.ConvertToSingle(hit.ClassEmbeddings, widened);
            var kept = new Encoded(hit.Width, hit.Height, [.. hit.Boxes], widened, hit.Dimension, [.. hit.Objectness]);
            if (borrowed)
            {
                cache.Release(hit);
            }
            return kept;
        }
        PreparedImage prepared;
        try
        {
            prepared = ImageDetection.Prepare(image.Bytes, preprocessor, limits);
        }
        catch (ImageDecodeException e)
        {
            throw new ExampleException($"example image {image.Name} cannot be read: {e.Message}", e);
        }
        using (prepared)
        {
            var (boxes, features) = detector.EncodeImages(prepared.Pixels);
            if (key is not null)
            {
                cache!.Add(key, new CachedImage(prepared.Width, prepared.Height, boxes, features));
            }
            return new Encoded(prepared.Width, prepared.Height, boxes, features.ClassEmbeddings, features.Dimension, features.Objectness);
        }
    }

    /// <summary>As HF's class head does to every query: q / (‖q‖ + 1e-6).</summary>
    private static float[] Normalize(ReadOnlySpan<float> row)
    {
        var norm = System.Numerics.Tensors.TensorPrimitives.Norm(row) + 1e-6f;
        var result = new float[row.Length];
        System.Numerics.Tensors.TensorPrimitives.Divide(row, norm, result);
        return result;
    }
}

/// <summary>A plan's queries when its prompt has example lines: every text line's embedding and every example's, one
/// row each, and the prompt line each row scores for. A line's logit at a patch is the best of its rows, so several
/// examples of one label are several queries of it, and a label's score stays a sigmoid of the model's logit.</summary>
public sealed class CombinedQueries
{
    private readonly float[] _rows;
    private readonly int[] _lineOfRow;
    private readonly int _lines;
    private readonly bool[] _unpadded;

    public CombinedQueries(IReadOnlyList<Labeling.Prompts.PromptLine> lines, QueryTokens text, ExampleQueries? examples)
    {
        var d = text.EmbeddingSize;
        var textRows = text.Embeddings ?? throw new InvalidOperationException("queries were prepared without text embeddings");
        var rows = new List<float>();
        var lineOfRow = new List<int>();
        for (var i = 0; i < lines.Count; i++)
        {
            var line = lines[i];
            if (!line.IsExample)
            {
                rows.AddRange(textRows.AsSpan(i * d, d).ToArray());
                lineOfRow.Add(i);
                continue;
            }
            if (examples is null || !examples.ByName.TryGetValue(line.SearchText, out var queries) || queries.Count == 0)
            {
                throw new InvalidOperationException($"prompt line {line.LineNumber} \"[{line.SearchText}]\": this job was given no example boxes labelled '{line.SearchText}'");
            }
            foreach (var q in queries)
            {
                if (q.Length != d)
                {
                    throw new InvalidOperationException($"an example query of [{line.SearchText}] has {q.Length} values; the model's queries have {d}");
                }
                rows.AddRange(q);
                lineOfRow.Add(i);
            }
        }
        (_rows, _lineOfRow, _lines, Dimension) = (rows.ToArray(), lineOfRow.ToArray(), lines.Count, d);
        _unpadded = new bool[_lineOfRow.Length];
    }

    public int Dimension { get; }

    public int Rows => _lineOfRow.Length;

    /// <summary>The class head over one image's encoding: logits [1, N, lines], boxes [1, N, 4].</summary>
    public DetectorOutput Score<T>(float[] boxes, ReadOnlySpan<T> embeddings, float[] shift, float[] scale, int dimension) where T : unmanaged
    {
        var n = shift.Length;
        var all = System.Buffers.ArrayPool<float>.Shared.Rent(n * Rows);
        try
        {
            var logits = all.AsSpan(0, n * Rows);
            ClassHead.Logits(embeddings, shift, scale, dimension, _rows, Rows, _unpadded, logits);
            var output = new DetectorOutput(1, n, _lines);
            var perLine = output.WritableLogits.Span;
            perLine.Fill(float.NegativeInfinity);
            for (var p = 0; p < n; p++)
            {
                for (var r = 0; r < Rows; r++)
                {
                    ref var best = ref perLine[p * _lines + _lineOfRow[r]];
                    best = MathF.Max(best, logits[p * Rows + r]);
                }
            }
            boxes.AsSpan(0, n * 4).CopyTo(output.WritableBoxes.Span);
            return output;
        }
        finally
        {
            System.Buffers.ArrayPool<float>.Shared.Return(all);
        }
    }
}
