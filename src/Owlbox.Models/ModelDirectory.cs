using System.Text.Json;
using System.Text.Json.Nodes;

namespace Owlbox.Models;

/// <summary>Reads a hub-layout model directory, failing with a message that says what is missing or unexpected.</summary>
public static class ModelDirectory
{
    /// <summary>Variant names map to the published file suffixes ('' fp32, _quantized int8, _fp16, ...).</summary>
    public static string VariantFileName(string variant) => variant switch
    {
        "" or "model" or "fp32" => "model.onnx",
        "quantized" or "q8" or "int8" => "model_quantized.onnx",
        "fp16" => "model_fp16.onnx",
        _ when variant.EndsWith(".onnx", StringComparison.Ordinal) => variant,
        _ => $"model_{variant}.onnx",
    };

    public static OwlModel Load(string directory, string variant = "model")
    {
        if (!System.IO.Directory.Exists(directory))
        {
            throw new ModelException($"model directory '{directory}' does not exist");
        }
        var config = ReadJson(directory, "config.json");
        var modelTypeName = config["model_type"]?.GetValue<string>();
        var type = modelTypeName switch
        {
            "owlvit" => OwlModelType.OwlVit,
            "owlv2" => OwlModelType.Owlv2,
            null => throw new ModelException($"{Path.Combine(directory, "config.json")}: no \"model_type\"; expected \"owlvit\" or \"owlv2\""),
            _ => throw new ModelException($"{Path.Combine(directory, "config.json")}: model_type \"{modelTypeName}\" is not supported; Owlbox runs \"owlvit\" and \"owlv2\" exports"),
        };

        var pre = ReadJson(directory, "preprocessor_config.json");
        var prePath = Path.Combine(directory, "preprocessor_config.json");
        if (pre["do_center_crop"]?.GetValue<bool>() == true)
        {
            // The first OWL-ViT hub config centre-cropped and shifted boxes on non-square images (HF #18553).
            throw new ModelException($"{prePath}: do_center_crop is true; OWL models expect a direct resize (the cropping config was a published bug, HF #18553)");
        }
        var size = ReadSquareSize(pre["size"], prePath);
        var mean = ReadTriple(pre["image_mean"], prePath, "image_mean", [0.48145466f, 0.4578275f, 0.40821073f]);
        var std = ReadTriple(pre["image_std"], prePath, "image_std", [0.26862954f, 0.26130258f, 0.27577711f]);
        var rescale = pre["do_rescale"]?.GetValue<bool>() == false ? 1f : (float)(pre["rescale_factor"]?.GetValue<double>() ?? 1 / 255.0);

        var maxTokens = config["text_config"]?["max_position_embeddings"]?.GetValue<int>() ?? 16;
        var tokenizer = Path.Combine(directory, "tokenizer.json");
        if (!File.Exists(tokenizer))
        {
            throw new ModelException($"model directory '{directory}' has no tokenizer.json (the hub layout has it beside config.json)");
        }
        var onnxDir = Path.Combine(directory, "onnx");
        var onnx = Path.Combine(onnxDir, VariantFileName(variant));
        var preparedOnly = !File.Exists(onnx) && Path.GetFileName(onnx).StartsWith("model", StringComparison.Ordinal)
            && File.Exists(Path.Combine(onnxDir, "image_encoder" + Path.GetFileName(onnx)["model".Length..]))
            && File.Exists(Path.Combine(onnxDir, "text_encoder" + Path.GetFileName(onnx)["model".Length..]));
        if (preparedOnly)
        {
            // The variant exists only as `owlbox models prepare` wrote it (its int8 encoders, from the fp32 export).
            onnx = Path.Combine(onnxDir, "image_encoder" + Path.GetFileName(onnx)["model".Length..]);
        }
        if (!File.Exists(onnx))
        {
            var available = System.IO.Directory.Exists(onnxDir)
                ? string.Join(", ", System.IO.Directory.GetFiles(onnxDir, "*.onnx").Select(Path.GetFileName).Order(StringComparer.Ordinal))
                : "no onnx/ folder";
            throw new ModelException($"model file '{onnx}' not found (variant '{variant}'); available: {(available.Length == 0 ? "none" : available)}");
        }
        RequireModelFile(onnx, directory);
        var id = config["_name_or_path"]?.GetValue<string>();
        var fileName = Path.GetFileName(onnx);
        string? imageEncoder = null, textEncoder = null;
        if (fileName.StartsWith("model", StringComparison.Ordinal) || preparedOnly)
        {
            var suffix = preparedOnly ? fileName["image_encoder".Length..] : fileName["model".Length..];
            var image = Path.Combine(onnxDir, "image_encoder" + suffix);
            var text = Path.Combine(onnxDir, "text_encoder" + suffix);
            if (File.Exists(image) && File.Exists(text))
            {
                RequireModelFile(image, directory);
                RequireModelFile(text, directory);
                (imageEncoder, textEncoder) = (image, text);
            }
        }
        return new OwlModel
        {
            Directory = directory,
            ModelId = string.IsNullOrWhiteSpace(id) ? new DirectoryInfo(directory).Name : id,
            Type = type,
            OnnxPath = onnx,
            TokenizerPath = tokenizer,
            ImageSize = size,
            ImageMean = mean,
            ImageStd = std,
            RescaleFactor = rescale,
            MaxTextTokens = maxTokens,
            ImageEncoderPath = imageEncoder,
            TextEncoderPath = textEncoder,
        };
    }

    /// <summary>A clone without Git LFS (or with its files not pulled) holds ~130-byte pointer files where the
    /// weights should be; ONNX Runtime would only say "Protobuf parsing failed".</summary>
    private static void RequireModelFile(string path, string directory)
    {
        Span<byte> head = stackalloc byte[64];
        int read;
        using (var file = File.OpenRead(path))
        {
            read = file.ReadAtLeast(head, head.Length, throwOnEndOfStream: false);
        }
        if (read == 0)
        {
            throw new ModelException($"model file '{path}' is empty; download the export again");
        }
        if (head[..read].StartsWith("version https://git-lfs"u8))
        {
            throw new ModelException($"model file '{path}' is a Git LFS pointer, not the weights; run 'git lfs install && git lfs pull' in {directory}");
        }
    }

    private static JsonNode ReadJson(string directory, string file)
    {
        var path = Path.Combine(directory, file);
        if (!File.Exists(path))
        {
            throw new ModelException($"model directory '{directory}' has no {file} (expected the hub layout: config.json, preprocessor_config.json, tokenizer.json, onnx/model.onnx)");
        }
        try
        {
            return JsonNode.Parse(File.ReadAllText(path)) ?? throw new ModelException($"{path} is empty");
        }
        catch (JsonException e)
        {
            throw new ModelException($"{path} is not valid JSON: {e.Message}", e);
        }
    }

    private static int ReadSquareSize(JsonNode? size, string path)
    {
        switch (size)
        {
            case JsonValue v:
                return v.GetValue<int>();
            case JsonObject o when o["height"] is not null && o["width"] is not null:
                var h = o["height"]!.GetValue<int>();
                var w = o["width"]!.GetValue<int>();
                if (h != w)
                {
                    throw new ModelException($"{path}: size {w}x{h} is not square; OWL models take a square input");
                }
                return h;
            default:
                throw new ModelException($"{path}: expected \"size\" as a number or {{\"height\", \"width\"}}");
        }
    }

    private static float[] ReadTriple(JsonNode? node, string path, string name, float[] fallback)
    {
        if (node is null)
        {
            return fallback;
        }
        var values = node.AsArray().Select(n => (float)n!.GetValue<double>()).ToArray();
        return values.Length == 3 ? values : throw new ModelException($"{path}: {name} must have 3 values, found {values.Length}");
    }
}
