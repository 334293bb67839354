# PSNR versus bits per value for three fields: gwlz configurations beside the
# anchors. Called by bench/bench_rd.sh:
#   gnuplot -e "dir='...'; out='x.png'; f0='...'; f1='...'; f2='...'; configs='wavelet auto default'" bench/bench_rd.gp
# Data: dir/<panel>-<tool>.dat with rows "bpv psnr".
set terminal pngcairo size 1500,480 font ",10"
set output out
set multiplot layout 1,3
set logscale x 2
set xlabel "bits per value"
set ylabel "PSNR (dB)"
set grid
set key bottom right
anchors = "sz3 qoz-q4 sperr zfp"
aname(t) = t eq "qoz-q4" ? "HPEZ (qoz -q 4)" : (t eq "sz3" ? "SZ3" : (t eq "sperr" ? "SPERR" : "ZFP"))
gname(c) = "gwlz ".(c eq "default" ? "default" : "--base ".c." -G 0")
titles = f0." ".f1." ".f2
do for [p=0:2] {
  set title word(titles, p + 1) noenhanced
  plot for [t in anchors] dir."/".p."-".t.".dat" using 1:2 with linespoints dt 2 pt 6 title aname(t), \
       for [c in configs] dir."/".p."-gwlz-".c.".dat" using 1:2 with linespoints lw 2 pt 7 title gname(c)
}
unset multiplot
