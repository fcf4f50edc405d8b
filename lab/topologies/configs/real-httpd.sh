# A real server for the lab: busybox httpd (static, starts at once) answering its own name.
# GET / answers the name; GET /healthz answers 200 while the file exists, 404 once an operator
# removes it to take the real out of rotation gracefully:
#   rm /run/vgw-lab-www/<name>/healthz
name=${1:?usage: real-httpd.sh NAME}
dir=/run/vgw-lab-www/$name
mkdir -p "$dir"
echo "$name" > "$dir/index.html"
echo ok > "$dir/healthz"
exec busybox httpd -f -p 80 -h "$dir"
