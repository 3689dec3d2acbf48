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
        ModelReads.Record("config.json", directory);
        var config = ReadJson(directory, "config.json");
        var modelTypeName = config.String("model_type");
        var type = modelTypeName switch
        {
            "owlvit" => OwlModelType.OwlVit,
            "owlv2" => OwlModelType.Owlv2,
            null => throw new ModelException($"{config.Path}: no \"model_type\"; expected \"owlvit\" or \"owlv2\""),
            _ => throw new ModelException($"{config.Path}: model_type \"{modelTypeName}\" is not supported; Owlbox runs \"owlvit\" and \"owlv2\" exports"),
        };
        var patchSize = config.Integer("vision_config.patch_size", 1, MaxImageSize);
        var configImageSize = config.Integer("vision_config.image_size", 1, MaxImageSize);
        var maxTokens = config.Integer("text_config.max_position_embeddings", 2, MaxTextTokens) ?? 16;
        var id = config.String("_name_or_path");

        var pre = ReadJson(directory, "preprocessor_config.json");
        if (pre.Bool("do_center_crop") == true)
        {
            // The first OWL-ViT hub config centre-cropped and shifted boxes on non-square images (HF #18553).
            throw new ModelException($"{pre.Path}: do_center_crop is true; OWL models expect a direct resize (the cropping config was a published bug, HF #18553)");
        }
        var size = ReadSquareSize(pre);
        if (patchSize is { } patch && size % patch != 0)
        {
            throw new ModelException($"{pre.Path}: \"size\" {size} is not a multiple of the patch size {patch} ({config.Path}, vision_config.patch_size)");
        }
        if (configImageSize is { } expected && expected != size)
        {
            throw new ModelException($"{pre.Path}: \"size\" {size} is not the model's input size {expected} ({config.Path}, vision_config.image_size)");
        }
        var mean = pre.Triple("image_mean", positive: false) ?? [0.48145466f, 0.4578275f, 0.40821073f];
        var std = pre.Triple("image_std", positive: true) ?? [0.26862954f, 0.26130258f, 0.27577711f];
        var rescale = pre.Bool("do_rescale") == false ? 1f : (float)(pre.PositiveNumber("rescale_factor") ?? 1 / 255.0);

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

    private static ConfigFile ReadJson(string directory, string file)
    {
        var path = Path.Combine(directory, file);
        if (!File.Exists(path))
        {
            throw new ModelException($"model directory '{directory}' has no {file} (expected the hub layout: config.json, preprocessor_config.json, tokenizer.json, onnx/model.onnx)");
        }
        JsonNode? root;
        try
        {
            root = JsonNode.Parse(File.ReadAllText(path));
        }
        catch (JsonException e)
        {
            throw new ModelException($"{path} is not valid JSON: {e.Message}", e);
        }
        return root is JsonObject o ? new ConfigFile(path, o) : throw new ModelException($"{path} must hold a JSON object, found {ConfigFile.Show(root)}");
    }

    private static int ReadSquareSize(ConfigFile pre)
    {
        if (pre.Node("size") is JsonObject)
        {
            var h = pre.Integer("size.height", 1, MaxImageSize) ?? throw new ModelException($"{pre.Path}: \"size\" has no \"height\"");
            var w = pre.Integer("size.width", 1, MaxImageSize) ?? throw new ModelException($"{pre.Path}: \"size\" has no \"width\"");
            return h == w ? h : throw new ModelException($"{pre.Path}: size {w}x{h} is not square; OWL models take a square input");
        }
        return pre.Integer("size", 1, MaxImageSize)
            ?? throw new ModelException($"{pre.Path}: no \"size\"; expected a number or {{\"height\", \"width\"}}");
    }

    /// <summary>Largest input side accepted: OWL exports take 768 to 1008; a side of 12000 would allocate gigabytes per
    /// image before anything could say why, and 20000 overflows the tensor length.</summary>
    public const int MaxImageSize = 4096;

    /// <summary>Largest text length accepted (OWL's is 16; CLIP's 77).</summary>
    public const int MaxTextTokens = 4096;

    /// <summary>A JSON config file's fields, each read with its type and range checked: a wrong one is named, with the
    /// file, in words (not as a .NET cast or key error).</summary>
    private sealed class ConfigFile(string path, JsonObject root)
    {
        public string Path { get; } = path;

        /// <summary>The node at a dotted field path ("text_config.max_position_embeddings"); null when absent or JSON null.</summary>
        public JsonNode? Node(string field)
        {
            JsonNode? node = root;
            var walked = "";
            foreach (var part in field.Split('.'))
            {
                if (node is null)
                {
                    return null;
                }
                if (node is not JsonObject o)
                {
                    throw Wrong(walked, "an object", node);
                }
                node = o[part];
                walked = walked.Length == 0 ? part : $"{walked}.{part}";
            }
            return node;
        }

        public string? String(string field) => Node(field) switch
        {
            null => null,
            JsonValue v when v.TryGetValue<string>(out var s) => s,
            var other => throw Wrong(field, "a string", other),
        };

        public bool? Bool(string field) => Node(field) switch
        {
            null => null,
            JsonValue v when v.TryGetValue<bool>(out var b) => b,
            var other => throw Wrong(field, "true or false", other),
        };

        public int? Integer(string field, int min, int max) => Node(field) switch
        {
            null => null,
            JsonValue v when v.TryGetValue<double>(out var d) && d == Math.Floor(d) && d >= min && d <= max => (int)d,
            var other => throw Wrong(field, $"a whole number from {min} to {max}", other),
        };

        public double? PositiveNumber(string field) => Node(field) switch
        {
            null => null,
            JsonValue v when v.TryGetValue<double>(out var d) && double.IsFinite(d) && d > 0 => d,
            var other => throw Wrong(field, "a number above 0", other),
        };

        /// <summary>Three finite numbers, one per colour channel (above 0 where they divide).</summary>
        public float[]? Triple(string field, bool positive)
        {
            var node = Node(field);
            if (node is null)
            {
                return null;
            }
            var what = positive ? "a list of 3 numbers above 0 (red, green, blue)" : "a list of 3 numbers (red, green, blue)";
            if (node is not JsonArray { Count: 3 } array)
            {
                throw Wrong(field, what, node);
            }
            var values = new float[3];
            for (var i = 0; i < 3; i++)
            {
                if (array[i] is not JsonValue v || !v.TryGetValue<double>(out var d) || !float.IsFinite((float)d) || (positive && (float)d <= 0))
                {
                    throw Wrong(field, what, node);
                }
                values[i] = (float)d;
            }
            return values;
        }

        private ModelException Wrong(string field, string what, JsonNode? found) =>
            new($"{Path}: \"{field}\" must be {what}, found {Show(found)}");

        public static string Show(JsonNode? node)
        {
            var json = node?.ToJsonString() ?? "null";
            return json.Length <= 60 ? json : json[..57] + "...";
        }
    }
}
