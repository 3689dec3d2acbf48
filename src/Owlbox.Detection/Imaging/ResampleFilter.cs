namespace Owlbox.Detection.Imaging;

/// <summary>Separable resampling kernels, with PIL's support scaling on downsampling (antialiasing).</summary>
public enum ResampleFilter
{
    /// <summary>Keys cubic, a = -0.5: PIL BICUBIC, what OWL-ViT's processor uses.</summary>
    Bicubic,

    /// <summary>Triangle: PIL BILINEAR; with support scaled by the zoom it approximates OWLv2's Gaussian-blur-then-bilinear.</summary>
    Bilinear,
}
