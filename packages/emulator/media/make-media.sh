#!/usr/bin/env bash
# Makes the emulator's sample media, once: a test pattern per sample entry with its name, a
# clock and a frame counter, as a progressive MP4, an HLS rendition of the same frames (fMP4
# segments of 2 s), a poster and a strip of 100 seek-bar thumbnails. The output is committed,
# so a fresh machine needs no ffmpeg; run this again only to change the media, then check the
# sizes (each file well under 1 MB) and the durations in src/samples.ts.
#
#   packages/emulator/media/make-media.sh        (Debian: apt-get install -y ffmpeg fonts-dejavu-core)
set -euo pipefail
cd "$(dirname "$0")"

FONT=/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf
MONO=/usr/share/fonts/truetype/dejavu/DejaVuSansMono-Bold.ttf
for f in "$FONT" "$MONO"; do [ -f "$f" ] || { echo "missing font $f (apt-get install -y fonts-dejavu-core)" >&2; exit 1; }; done
command -v ffmpeg >/dev/null || { echo "ffmpeg is missing (apt-get install -y ffmpeg)" >&2; exit 1; }

# id | title | seconds | background | moving box colour | box x(t) | box y(t)
SAMPLES=(
  "0_emu00001|Sample 1 - Sunrise|60|0xC2571A|0xFFD166|mod(t*60\,360)-40|124"
  "0_emu00002|Sample 2 - Ocean|75|0x1B4F8A|0x7FDBFF|260|mod(t*30\,220)-40"
  "0_emu00003|Sample 3 - City at night|90|0x1E1B3A|0xF5E663|mod(t*45\,360)-40|mod(t*25\,220)-40"
)

for sample in "${SAMPLES[@]}"; do
  IFS='|' read -r id title seconds background box bx by <<<"$sample"
  rm -rf "$id" && mkdir -p "$id"
  echo "$id: $title, $seconds s"
  # 320x180 at 10 fps, H.264 baseline, a keyframe every 2 s (so HLS segments cut cleanly), no audio.
  ffmpeg -hide_banner -loglevel error -y \
    -f lavfi -i "color=c=${background}:s=320x180:r=10:d=${seconds}" \
    -vf "drawbox=x='${bx}':y='${by}':w=40:h=40:color=${box}:t=fill,\
drawtext=fontfile=${FONT}:text='${title}':x=10:y=8:fontsize=18:fontcolor=white,\
drawtext=fontfile=${MONO}:text='%{pts\:hms}':x=10:y=38:fontsize=30:fontcolor=white,\
drawtext=fontfile=${MONO}:text='frame %{n}':x=10:y=80:fontsize=16:fontcolor=white,\
drawtext=fontfile=${MONO}:text='${id}':x=w-tw-8:y=h-th-8:fontsize=12:fontcolor=white" \
    -c:v libx264 -profile:v baseline -level 3.0 -pix_fmt yuv420p -preset veryslow -crf 32 \
    -g 20 -keyint_min 20 -sc_threshold 0 -an -movflags +faststart "$id/a.mp4"
  ffmpeg -hide_banner -loglevel error -y -i "$id/a.mp4" -c copy -f hls -hls_time 2 \
    -hls_playlist_type vod -hls_segment_type fmp4 -hls_fmp4_init_filename init.mp4 \
    -start_number 1 -hls_segment_filename "$id/seg-%d.m4s" "$id/index.m3u8"
  ffmpeg -hide_banner -loglevel error -y -ss 3 -i "$id/a.mp4" -frames:v 1 -q:v 6 "$id/thumb.jpg"
  # The player's seek-bar preview: 100 slices of 164x92 side by side (Kaltura's vid_slices).
  ffmpeg -hide_banner -loglevel error -y -i "$id/a.mp4" \
    -vf "fps=100/${seconds},scale=164:92,tile=100x1" -frames:v 1 -q:v 20 "$id/slices.jpg"
done
du -b */* | sort -n | tail -3
