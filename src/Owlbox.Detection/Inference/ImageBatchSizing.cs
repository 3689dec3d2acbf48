namespace Owlbox.Detection.Inference;

/// <summary>How many images one run of the image encoder takes on a device: as many as fit in its free memory with a
/// quarter left for everything else, a multiple of 8 from 8 up (tensor-core tiles), at most <see cref="Largest"/>.</summary>
public static class ImageBatchSizing
{
    /// <summary>Past 64 images a run, an H100-class GPU is already busy; larger batches only add latency and pinned host memory.</summary>
    public const int Largest = 64;

    /// <param name="freeBytes">The device's free memory with the session loaded and warmed at one image.</param>
    /// <param name="perImageBytes">What one more image in a run costs the device (measured: two images against one).</param>
    public static int FromFreeMemory(long freeBytes, long perImageBytes, int largest = Largest)
    {
        if (freeBytes <= 0 || perImageBytes <= 0)
        {
            return 1;
        }
        var fit = Math.Clamp(freeBytes / 4 * 3 / perImageBytes, 1, largest);
        return (int)(fit >= 8 ? fit / 8 * 8 : fit);
    }
}
