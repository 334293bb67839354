# PSNR versus bits per value for three fields: gwlz configurations beside the
# anchors. Called by bench/bench_rd.sh:
#   gnuplot -e "dir='...'; out='x.png'; f0='...'; f1='...'; f2='...'; configs='wavelet auto default'" bench/bench_rd.gp
# Data: dir/<panel>-<tool>.dat with rows "bpv psnr".
set terminal pngcairo size 1500,480 font ",10"
set output out
set multiplot layout 1,3
set logscale x 2
set format x "%.3g"
set xlabel "bits per value"
set ylabel "PSNR (dB)"
set grid
set key bottom right
anchors = "sz3 qoz-q4 sperr zfp"
aname(t) = t eq "qoz-q4" ? "HPEZ (qoz -q 4)" : (t eq "sz3" ? "SZ3" : (t eq "sperr" ? "SPERR" : "ZFP"))
gname(c) = "gwlz ".(c eq "default" ? "default" : "--base ".c." -G 0")
# gwlz configurations often coincide: distinct points and dashes keep each visible
gpt(c) = c eq "wavelet" ? 7 : (c eq "auto" ? 4 : (c eq "default" ? 9 : 5))
gps(c) = c eq "auto" ? 2.0 : 1.2
gdt(c) = c eq "wavelet" ? 1 : (c eq "auto" ? 3 : 1)
glw(c) = c eq "default" ? 1.5 : 2.5
gcol(c) = c eq "wavelet" ? "black" : (c eq "auto" ? "#1f77b4" : (c eq "default" ? "#d62728" : "#2ca02c"))
titles = f0." ".f1." ".f2
do for [p=0:2] {
  set title word(titles, p + 1) noenhanced
  plot for [t in anchors] dir."/".p."-".t.".dat" using 1:2 with linespoints dt 2 pt 6 title aname(t), \
       for [c in configs] dir."/".p."-gwlz-".c.".dat" using 1:2 with linespoints \
         lw glw(c) dt gdt(c) pt gpt(c) ps gps(c) lc rgb gcol(c) title gname(c)
}
unset multiplot
