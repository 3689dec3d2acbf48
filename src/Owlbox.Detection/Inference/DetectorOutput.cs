using System.Buffers;

namespace Owlbox.Detection.Inference;

/// <summary>Raw model outputs for a batch: logits [Images, Patches, Queries], boxes [Images, Patches, 4] as normalised
/// (cx, cy, w, h) of the model input. The buffers are pooled, so a job allocates none per image (they were most of
/// what a long job's garbage collector had to clear); dispose once the outputs are decoded.</summary>
public sealed class DetectorOutput : IDisposable
{
    private float[]? _logits;
    private float[]? _boxes;

    internal DetectorOutput(int images, int patches, int queries)
    {
        (Images, Patches, Queries) = (images, patches, queries);
        _logits = ArrayPool<float>.Shared.Rent(images * patches * queries);
        _boxes = ArrayPool<float>.Shared.Rent(images * patches * 4);
    }

    public int Images { get; }
    public int Patches { get; }
    public int Queries { get; }

    public ReadOnlyMemory<float> Logits => WritableLogits;
    public ReadOnlyMemory<float> Boxes => WritableBoxes;

    internal Memory<float> WritableLogits => (_logits ?? throw new ObjectDisposedException(nameof(DetectorOutput))).AsMemory(0, Images * Patches * Queries);
    internal Memory<float> WritableBoxes => (_boxes ?? throw new ObjectDisposedException(nameof(DetectorOutput))).AsMemory(0, Images * Patches * 4);

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _logits, null) is { } l)
        {
            ArrayPool<float>.Shared.Return(l);
        }
        if (Interlocked.Exchange(ref _boxes, null) is { } b)
        {
            ArrayPool<float>.Shared.Return(b);
        }
    }
}
