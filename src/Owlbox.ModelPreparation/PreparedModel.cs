namespace Owlbox.ModelPreparation;

/// <summary>What <c>owlbox models prepare</c> wrote and how closely it matches the single graph.</summary>
public sealed record PreparedModel(string ImageEncoderPath, string TextEncoderPath, HeadRoles Roles, int HeadNodes,
    int ReshapesMadeDynamic, double MaxLogitDifference, double MaxBoxDifference)
{
    /// <summary>Pearson correlation of the int8 encoders' logits with the fp32 ones on the check's inputs (null: no
    /// int8 form written, as for a variant other than fp32).</summary>
    public double? Int8Correlation { get; init; }

    /// <summary>The fp16 encoders against the fp32 ones on the check's inputs: the largest score difference
    /// (sigmoid of the logits, what a threshold sees) and box difference in pixels of the model input (null: no fp16
    /// form written).</summary>
    public (double Score, double BoxPixels)? Fp16Check { get; init; }

    /// <summary>Attentions of the image encoder written as ONNX Runtime's fused MultiHeadAttention (0: none matched,
    /// or the fused form failed the check and the export's own was kept).</summary>
    public int FusedAttentions { get; init; }
}
