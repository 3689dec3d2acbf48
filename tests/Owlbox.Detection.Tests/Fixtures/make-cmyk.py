# Makes cmyk-red-640x360.jpg: the only fixture not generated in C#, because no C# encoder at hand writes CMYK JPEGs.
# Run with Debian's python3-pil: /usr/bin/python3 make-cmyk.py
from PIL import Image, ImageDraw
img = Image.new("RGB", (640, 360), (128, 128, 128))
ImageDraw.Draw(img).rectangle([80, 53, 212, 159], fill=(230, 26, 26))  # OWLv2 test-model cells (3,2)+(5,4)
img.convert("CMYK").save("cmyk-red-640x360.jpg", quality=95)
