namespace Owlbox.Labeling.Boxes;

/// <summary>How an image was mapped onto the model's square input; decides how boxes map back.</summary>
public enum InputLayout
{
    /// <summary>OWL-ViT: squashed to the square ignoring aspect ratio; x scales by width, y by height.</summary>
    Stretch,

    /// <summary>OWLv2: padded bottom/right to a max(W,H) square, then resized; both axes scale by max(W,H).</summary>
    PadBottomRight,
}
